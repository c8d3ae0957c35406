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


rule all:
    default_target: True
    input:
        rules.demo.input,
        rules.check_annotations.output,
        rules.videos.input,
        rules.text.input,
        rules.features.input,
        rules.report.input,
