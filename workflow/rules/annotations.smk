rule check_annotations:
    input:
        get_all_annotation_inputs,
    output:
        "results/annotations/summary.tsv",
    log:
        "logs/check_annotations.log",
    conda:
        "../../envs/workflow.yaml"
    params:
        annotations=config["annotations"],
        known_videos=list(videos.index),
    script:
        "../scripts/check_annotations.py"
