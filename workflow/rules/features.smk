# Features: text features (HDF5), S-GEAR language prototypes (HDF5), per-frame visual features (RULSTM-layout
# LMDB: one store per video from its 256p chunks, merged into one) and visual prototypes (HDF5). Models named
# by a local path under resources/models/tiny-* are built here (random weights, nothing is downloaded).


rule tiny_models:
    output:
        flava=directory("resources/models/tiny-flava"),
        vit=directory("resources/models/tiny-vit"),
    log:
        "logs/features/tiny_models/all.log",
    conda:
        "../../envs/features.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000),
        runtime="10m",
    params:
        seed=config["features"]["tiny_models_seed"],
    script:
        "../scripts/tiny_models.py"


rule text_features:
    input:
        unpack(get_text_set_inputs),
    output:
        "results/features/text/{text_set}.h5",
    log:
        "logs/features/text_features/{text_set}.log",
    benchmark:
        "results/benchmarks/text_features/{text_set}.tsv"
    wildcard_constraints:
        text_set=TEXT_SET_REGEX,
    conda:
        "../../envs/features.yaml"
    threads: 2
    resources:
        mem_mb=memory(config["features"]["text"]["mem_mb"]),
        runtime=config["features"]["text"]["runtime"],
    params:
        encoder=pick(config["features"]["text"], "model", "max_length"),
    script:
        "../scripts/text_features.py"


rule language_prototypes:
    input:
        verb_classes=config["annotations"]["epic_verb_classes"],
        noun_classes=config["annotations"]["epic_noun_classes"],
        segments=[
            config["annotations"][k]
            for k in config["features"]["language_prototypes"]["segments"]
        ],
    output:
        "results/features/language_prototypes/epic.h5",
    log:
        "logs/features/language_prototypes/all.log",
    benchmark:
        "results/benchmarks/language_prototypes/all.tsv"
    conda:
        "../../envs/features.yaml"
    threads: 2
    resources:
        mem_mb=memory(8000),
        runtime="1h",
    params:
        model=config["features"]["language_prototypes"]["model"],
    script:
        "../scripts/language_prototypes.py"


rule visual_features_video:
    input:
        model=local_model(config["features"]["visual"]["checkpoint"]),
        # the 256p chunks (upright, small), not the source video; chunks.json says whether it was rejected
        chunks=rules.resize_chunk.output[0],
    output:
        directory("results/features/visual/videos/{video_uid}"),
    log:
        "logs/features/visual_features_video/{video_uid}.log",
    benchmark:
        "results/benchmarks/visual_features_video/{video_uid}.tsv"
    conda:
        "../../envs/features.yaml"
    threads: 2
    resources:
        mem_mb=memory(config["features"]["visual"]["mem_mb"]),
        runtime=config["features"]["visual"]["runtime"],
    params:
        backbone=pick(
            config["features"]["visual"],
            "architecture",
            "checkpoint",
            "image_size",
            "mean",
            "std",
        ),
        fps=config["features"]["visual"]["fps"],
    script:
        "../scripts/visual_features_video.py"


rule merge_visual_features:
    input:
        expand(rules.visual_features_video.output[0], video_uid=videos.index),
    output:
        directory("results/features/visual/lmdb"),
    log:
        "logs/features/merge_visual_features/all.log",
    conda:
        "../../envs/features.yaml"
    threads: 1
    resources:
        mem_mb=memory(8000),
        runtime="2h",
    script:
        "../scripts/merge_visual_features.py"


rule visual_prototypes:
    input:
        # A user's RULSTM/AVT store named in config replaces extraction.
        store=config["features"]["visual"]["existing_lmdb"]
        or rules.merge_visual_features.output[0],
        language=rules.language_prototypes.output[0],
        segments=[
            config["annotations"][k]
            for k in config["features"]["visual_prototypes"]["segments"]
        ],
    output:
        "results/features/visual_prototypes/epic.h5",
    log:
        "logs/features/visual_prototypes/all.log",
    benchmark:
        "results/benchmarks/visual_prototypes/all.tsv"
    conda:
        "../../envs/features.yaml"
    threads: 1
    resources:
        mem_mb=memory(8000),
        runtime="1h",
    params:
        prototypes=pick(
            config["features"]["visual_prototypes"], "per_class", "fps", "min_seconds"
        ),
        # fps of the frame numbers of a user's store; ours carry theirs in meta.json
        store_fps=(
            config["features"]["visual"]["existing_fps"]
            if config["features"]["visual"]["existing_lmdb"]
            else None
        ),
    script:
        "../scripts/visual_prototypes.py"
