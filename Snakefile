from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


# uid-shaped only (an alternation of 10,000 uids slows every path match); unknown uids fail in get_video_file.
wildcard_constraints:
    video_uid=UID_REGEX,


include: "workflow/rules/demo.smk"
include: "workflow/rules/annotations.smk"
include: "workflow/rules/videos.smk"
include: "workflow/rules/text.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/report.smk"


# Named targets: each covers what exists of its stage; `all` is everything.
rule demo:
    input:
        rules.demo_world.output,


rule videos:
    input:
        rules.video_manifest.output,


rule text:
    input:
        rules.merge_text.output,


rule features:
    input:
        expand("results/features/text/{text_set}.h5", text_set=FEATURES["text"]["sets"]),
        "results/features/language_prototypes/epic.h5",
        VISUAL_STORE,
        "results/features/visual_prototypes/epic.h5",


# Training and evaluation rules arrive with the model issues; until then these targets have nothing to make.
rule pretrain:
    input:
        [],


rule evaluate:
    input:
        [],


rule all:
    default_target: True
    input:
        rules.demo.input,
        rules.check_annotations.output,
        rules.videos.input,
        rules.text.input,
        rules.features.input,
        rules.pretrain.input,
        rules.evaluate.input,
        rules.report.input,
