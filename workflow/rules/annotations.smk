# Annotations: every configured file read by its native-format reader and cross-checked (egoflow.annotations).


rule check_annotations:
    input:
        get_all_annotation_inputs,
    output:
        "results/annotations/summary.tsv",
    log:
        "logs/annotations/check_annotations/all.log",
    conda:
        "../../envs/workflow.yaml"
    resources:
        mem_mb=memory(2000),
        runtime="15m",
    params:
        annotations=config["annotations"],
        known_videos=list(videos.index),
    script:
        "../scripts/check_annotations.py"
