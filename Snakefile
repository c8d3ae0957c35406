from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


# Shared by every stage file: config validation, the {demo} paths, the video sheet, input functions, resources.
include: "workflow/rules/common.smk"


# uid-shaped only (an alternation of 10,000 uids slows every path match); unknown uids fail in get_video_file.
wildcard_constraints:
    video_uid=UID_REGEX,


# One file per stage: workflow/rules/<stage>.smk, package egoflow.<stage>, results/<stage>/, logs/<stage>/.
include: "workflow/rules/demo.smk"
include: "workflow/rules/annotations.smk"
include: "workflow/rules/videos.smk"
include: "workflow/rules/text.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/framewise.smk"
include: "workflow/rules/anticipation.smk"
include: "workflow/rules/states.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/report.smk"


# Named targets, one per stage: each covers what exists of its stage; `all` is everything.
rule demo:
    input:
        rules.demo_world.output if DEMO_WORLD else [],


rule annotations:
    input:
        rules.check_annotations.output,


rule videos:
    input:
        rules.video_manifest.output,


rule text:
    input:
        rules.merge_text.output,


rule features:
    input:
        expand(
            rules.text_features.output[0], text_set=config["features"]["text"]["sets"]
        ),
        rules.language_prototypes.output,
        rules.visual_prototypes.input.store,
        rules.visual_prototypes.output,


rule pretrain:
    input:
        expand(rules.pretrain_model.output.model, run=RUNS),


rule evaluate:
    input:
        expand(
            rules.evaluate_zeroshot.output,
            run=config["evaluate"]["runs"],
            task=[t for t in config["evaluate"]["tasks"] if t in ZEROSHOT_TASKS],
        ),
        expand(
            rules.evaluate_retrieval.output,
            run=config["evaluate"]["runs"],
            task=[t for t in config["evaluate"]["tasks"] if t in RETRIEVAL_TASKS],
        ),
        expand(
            rules.evaluate_finetuned.output,
            run=config["evaluate"]["finetune"]["runs"],
            task=config["evaluate"]["finetune"]["tasks"],
        ),


rule framewise:
    input:
        expand(rules.framewise_phases.output, encoder=config["framewise"]["encoders"]),
        expand(
            rules.framewise_segmentation.output,
            encoder=config["framewise"]["encoders"],
        ),


rule anticipation:
    input:
        expand(rules.sgear_evaluate.output, run=SGEAR_RUNS),
        rules.sgear_fusion.output if FUSION["runs"] else [],
        expand(rules.lta_evaluate.output, run=LTA_RUNS),


rule states:
    input:
        rules.video_weights.output,
        rules.evaluate_states.output,


rule metrics:
    input:
        rules.metrics_summary.output,


rule report:
    input:
        rules.report_html.output,


rule all:
    default_target: True
    input:
        rules.demo.input,
        rules.annotations.input,
        rules.videos.input,
        rules.text.input,
        rules.features.input,
        rules.pretrain.input,
        rules.evaluate.input,
        rules.framewise.input,
        rules.anticipation.input,
        rules.states.input,
        rules.metrics.input,
        rules.report.input,
