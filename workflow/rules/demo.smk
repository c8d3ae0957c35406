# The demo world: synthetic videos, their sheet and annotations in every native format (egoflow.demo).
# Defined only when the config points into it (see common.smk), so real data never plans it.


if DEMO_WORLD:

    rule demo_world:
        output:
            sheet=DEMO_DIR / "sheet.tsv",
            videos=[DEMO_DIR / p for p in DEMO_WORLD.video_files()],
            annotations=[DEMO_DIR / p for p in DEMO_WORLD.annotation_files()],
        log:
            "logs/demo/demo_world/all.log",
        benchmark:
            "results/benchmarks/demo_world/all.tsv"
        conda:
            "../../envs/videos.yaml"
        threads: 2
        resources:
            mem_mb=memory(4000),
            runtime="30m",
        params:
            size=config["demo"]["size"],
            seed=config["demo"]["seed"],
        script:
            "../scripts/demo_world.py"
