rule demo_world:
    output:
        sheet=DEMO_DIR / "sheet.tsv",
        videos=[DEMO_DIR / p for p in DEMO_WORLD.video_files()],
        annotations=[DEMO_DIR / p for p in DEMO_WORLD.annotation_files()],
    log:
        "logs/demo_world.log",
    benchmark:
        "results/benchmarks/demo_world.tsv"
    conda:
        "../../envs/videos.yaml"
    threads: 2
    params:
        size=config["demo"]["size"],
        seed=config["demo"]["seed"],
    script:
        "../scripts/demo_world.py"
