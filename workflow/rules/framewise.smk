# Frame-wise representations: frame features, CARL, AE2, temporal action segmentation.
# Frames of each labelled set are decoded once (results/framewise/frames/); CARL trains on the phases train
# split through the one training loop (checkpoints under results/framewise/carl/checkpoints, not outputs);
# every encoder of framewise.encoders gets frame features per set, the CARL / AE2 protocols and ASFormer
# segmentation on GTEA, each a JSON row (with its chance baseline) and a figure in the report.


rule framewise_frames:
    input:
        unpack(get_framewise_frames_inputs),
    output:
        "results/framewise/frames/{set}.npz",
    log:
        "logs/framewise/framewise_frames/{set}.log",
    benchmark:
        "results/benchmarks/framewise_frames/{set}.tsv"
    wildcard_constraints:
        set="phases_train|phases_val|phases_test|gtea",
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=memory(FRAMEWISE["mem_mb"]),
        runtime=FRAMEWISE["runtime"],
    params:
        frames=pick(FRAMEWISE, "frames", "gtea_fps"),
    script:
        "../scripts/framewise_frames.py"


rule framewise_carl:
    input:
        frames="results/framewise/frames/phases_train.npz",
    output:
        model="results/framewise/carl/model.pt",
        log=report(
            "results/framewise/carl/log.csv",
            category="Frame-wise",
            labels={"title": "CARL losses", "kind": "curves"},
        ),
    log:
        "logs/framewise/framewise_carl/all.log",
    benchmark:
        "results/benchmarks/framewise_carl/all.tsv"
    conda:
        "../../envs/train.yaml"
    threads: FRAMEWISE["threads"]
    resources:
        mem_mb=memory(FRAMEWISE["mem_mb"]),
        runtime=FRAMEWISE["runtime"],
    params:
        settings=pick(FRAMEWISE, "carl"),
        run_dir=lambda wildcards, output: str(Path(output.model).parent),
    script:
        "../scripts/framewise_carl.py"


rule framewise_features:
    input:
        unpack(get_framewise_features_inputs),
    output:
        "results/framewise/features/{encoder}/{set}.h5",
    log:
        "logs/framewise/framewise_features/{encoder}_{set}.log",
    benchmark:
        "results/benchmarks/framewise_features/{encoder}_{set}.tsv"
    wildcard_constraints:
        set="phases_train|phases_val|phases_test|gtea",
    conda:
        "../../envs/train.yaml"
    threads: FRAMEWISE["threads"]
    resources:
        mem_mb=memory(FRAMEWISE["mem_mb"]),
        runtime=FRAMEWISE["runtime"],
    params:
        window=pick(FRAMEWISE, "window", "frames"),
        released=get_framewise_released,
    script:
        "../scripts/framewise_features.py"


rule framewise_phases:
    input:
        train="results/framewise/features/{encoder}/phases_train.h5",
        val="results/framewise/features/{encoder}/phases_val.h5",
        test="results/framewise/features/{encoder}/phases_test.h5",
        checkpoint=get_framewise_checkpoint,
    output:
        result="results/framewise/phases/{encoder}.json",
        figure=report(
            "results/framewise/phases/{encoder}_alignment.svg",
            category="Frame-wise",
            labels={"title": "DTW alignment of two videos", "kind": "figure"},
        ),
    log:
        "logs/framewise/framewise_phases/{encoder}.log",
    benchmark:
        "results/benchmarks/framewise_phases/{encoder}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: FRAMEWISE["threads"]
    resources:
        mem_mb=memory(FRAMEWISE["mem_mb"]),
        runtime=FRAMEWISE["runtime"],
    params:
        protocol=pick(FRAMEWISE, "protocol"),
    script:
        "../scripts/framewise_phases.py"


rule framewise_segmentation:
    input:
        features="results/framewise/features/{encoder}/gtea.h5",
        gtea=annotation_inputs("gtea"),
        checkpoint=get_framewise_checkpoint,
    output:
        result="results/framewise/segmentation/{encoder}.json",
        predictions="results/framewise/segmentation/{encoder}/predictions.json",
        figure=report(
            "results/framewise/segmentation/{encoder}_bars.svg",
            category="Frame-wise",
            labels={
                "title": "Segmentation: prediction vs ground truth",
                "kind": "figure",
            },
        ),
    log:
        "logs/framewise/framewise_segmentation/{encoder}.log",
    benchmark:
        "results/benchmarks/framewise_segmentation/{encoder}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: FRAMEWISE["threads"]
    resources:
        mem_mb=memory(FRAMEWISE["mem_mb"]),
        runtime=FRAMEWISE["runtime"],
    params:
        settings=pick(FRAMEWISE, "segmentation"),
        run_dir=lambda wildcards: f"results/framewise/segmentation/{wildcards.encoder}",
    script:
        "../scripts/framewise_segmentation.py"
