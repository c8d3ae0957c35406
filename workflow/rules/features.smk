# Features: text features (HDF5), S-GEAR language prototypes (HDF5), per-frame visual features (RULSTM-layout
# LMDB: one store per video, merged into one) and visual prototypes (HDF5). Models named by a local path under
# resources/models/tiny-* are built here (random weights, nothing is downloaded).

FEATURES = config["features"]
VISUAL = FEATURES["visual"]
VISUAL_STORE = VISUAL["existing_lmdb"] or "results/features/visual/lmdb"


rule tiny_models:
    output:
        flava=directory("resources/models/tiny-flava"),
        vit=directory("resources/models/tiny-vit"),
    log:
        "logs/tiny_models/all.log",
    conda:
        "../../envs/features.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime="10m",
    params:
        seed=FEATURES["tiny_models_seed"],
    script:
        "../scripts/tiny_models.py"


rule text_features:
    input:
        unpack(get_text_set_inputs),
    output:
        "results/features/text/{text_set}.h5",
    log:
        "logs/text_features/{text_set}.log",
    benchmark:
        "results/benchmarks/text_features/{text_set}.tsv"
    wildcard_constraints:
        text_set="clips|summaries|epic|charades",
    conda:
        "../../envs/features.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=FEATURES["text"]["runtime"],
    params:
        encoder=FEATURES["text"],
    script:
        "../scripts/text_features.py"


rule language_prototypes:
    input:
        verb_classes=config["annotations"]["epic_verb_classes"],
        noun_classes=config["annotations"]["epic_noun_classes"],
        segments=[
            config["annotations"][k]
            for k in FEATURES["language_prototypes"]["segments"]
        ],
    output:
        "results/features/language_prototypes/epic.h5",
    log:
        "logs/language_prototypes/epic.log",
    benchmark:
        "results/benchmarks/language_prototypes/epic.tsv"
    conda:
        "../../envs/features.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime="30m",
    params:
        prototypes=FEATURES["language_prototypes"],
    script:
        "../scripts/language_prototypes.py"


rule visual_features_video:
    input:
        model=(
            [VISUAL["checkpoint"]]
            if VISUAL["checkpoint"].startswith("resources/")
            else []
        ),
        video=get_video_input,
        probe="results/videos/probe/{video_uid}.json",
    output:
        directory("results/features/visual/videos/{video_uid}"),
    log:
        "logs/visual_features_video/{video_uid}.log",
    benchmark:
        "results/benchmarks/visual_features_video/{video_uid}.tsv"
    conda:
        "../../envs/features.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=VISUAL["runtime"],
    params:
        backbone=VISUAL,
        video=get_video_file,
    script:
        "../scripts/visual_features_video.py"


rule visual_features:
    input:
        expand("results/features/visual/videos/{video_uid}", video_uid=videos.index),
    output:
        directory("results/features/visual/lmdb"),
    log:
        "logs/visual_features/all.log",
    conda:
        "../../envs/features.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime="1h",
    script:
        "../scripts/visual_features.py"


rule visual_prototypes:
    input:
        store=VISUAL_STORE,
        language="results/features/language_prototypes/epic.h5",
        segments=[
            config["annotations"][k] for k in FEATURES["visual_prototypes"]["segments"]
        ],
    output:
        "results/features/visual_prototypes/epic.h5",
    log:
        "logs/visual_prototypes/epic.log",
    benchmark:
        "results/benchmarks/visual_prototypes/epic.tsv"
    conda:
        "../../envs/features.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime="1h",
    params:
        prototypes=FEATURES["visual_prototypes"],
        store_fps=VISUAL["existing_fps"],
    script:
        "../scripts/visual_prototypes.py"
