rule check_annotations:
    input:
        get_all_annotation_inputs,
    output:
        "results/annotations/summary.tsv",
    params:
        annotations=config["annotations"],
        known_videos=list(videos.index),
    log:
        "logs/check_annotations.log",
    script:
        "../scripts/check_annotations.py"
