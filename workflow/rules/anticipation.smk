# Action anticipation: S-GEAR, Ego4D long-term anticipation, late fusion. One training job per run of
# anticipation.sgear.runs / anticipation.lta.runs on the visual-feature store; checkpoints to resume from live
# in results/anticipation/<system>/<run>/checkpoints/ and are deliberately not outputs (as in pretrain.smk).


rule sgear_train:
    input:
        store=anticipation_store(),
        language=rules.language_prototypes.output[0],
        visual=rules.visual_prototypes.output[0],
        train=config["annotations"]["epic_train"],
    output:
        model="results/anticipation/sgear/{run}/model.pt",
        config="results/anticipation/sgear/{run}/config.json",
        log=report(
            "results/anticipation/sgear/{run}/log.csv",
            category="Anticipation",
            labels={"title": "S-GEAR losses", "kind": "curves"},
        ),
    log:
        "logs/anticipation/sgear_train/{run}.log",
    benchmark:
        "results/benchmarks/sgear_train/{run}.tsv"
    wildcard_constraints:
        run=SGEAR_REGEX,
    conda:
        "../../envs/train.yaml"
    threads: ANTICIPATION["threads"]
    resources:
        mem_mb=memory(ANTICIPATION["mem_mb"]),
        runtime=ANTICIPATION["runtime"],
    params:
        settings=lambda wildcards: output_settings(SGEAR_RUNS[wildcards.run]),
        run_dir=lambda wildcards: f"results/anticipation/sgear/{wildcards.run}",
    script:
        "../scripts/sgear_train.py"


rule sgear_evaluate:
    input:
        unpack(get_sgear_lists),
        model=rules.sgear_train.output.model,
        store=anticipation_store(),
        language=rules.language_prototypes.output[0],
        visual=rules.visual_prototypes.output[0],
        train=config["annotations"]["epic_train"],
        validation=config["annotations"]["epic_validation"],
    output:
        scores="results/anticipation/sgear/{run}/scores.npz",
        result="results/anticipation/sgear/{run}/validation.json",
        challenge="results/anticipation/sgear/{run}/challenge.json",
    log:
        "logs/anticipation/sgear_evaluate/{run}.log",
    benchmark:
        "results/benchmarks/sgear_evaluate/{run}.tsv"
    wildcard_constraints:
        run=SGEAR_REGEX,
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=memory(ANTICIPATION["mem_mb"]),
        runtime=ANTICIPATION["runtime"],
    script:
        "../scripts/sgear_evaluate.py"


rule sgear_fusion:
    input:
        unpack(get_sgear_lists),
        scores=expand(rules.sgear_evaluate.output.scores, run=FUSION["runs"]),
        language=rules.language_prototypes.output[0],
    output:
        "results/anticipation/fusion/validation.json",
    log:
        "logs/anticipation/sgear_fusion/all.log",
    benchmark:
        "results/benchmarks/sgear_fusion/all.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=memory(ANTICIPATION["mem_mb"]),
        runtime=ANTICIPATION["runtime"],
    params:
        fusion=FUSION,
    script:
        "../scripts/sgear_fusion.py"


rule lta_train:
    input:
        store=anticipation_store(),
        train=config["annotations"]["lta_train"],
        taxonomy=config["annotations"]["lta_taxonomy"],
    output:
        model="results/anticipation/lta/{run}/model.pt",
        config="results/anticipation/lta/{run}/config.json",
        log=report(
            "results/anticipation/lta/{run}/log.csv",
            category="Anticipation",
            labels={"title": "Ego4D LTA losses", "kind": "curves"},
        ),
    log:
        "logs/anticipation/lta_train/{run}.log",
    benchmark:
        "results/benchmarks/lta_train/{run}.tsv"
    wildcard_constraints:
        run=LTA_REGEX,
    conda:
        "../../envs/train.yaml"
    threads: ANTICIPATION["threads"]
    resources:
        mem_mb=memory(ANTICIPATION["mem_mb"]),
        runtime=ANTICIPATION["runtime"],
    params:
        settings=lambda wildcards: output_settings(LTA_RUNS[wildcards.run]),
        run_dir=lambda wildcards: f"results/anticipation/lta/{wildcards.run}",
    script:
        "../scripts/lta_train.py"


rule lta_evaluate:
    input:
        model=rules.lta_train.output.model,
        store=anticipation_store(),
        train=config["annotations"]["lta_train"],
        validation=config["annotations"]["lta_val"],
        test=config["annotations"][ANTICIPATION["lta"]["test"]],
        taxonomy=config["annotations"]["lta_taxonomy"],
    output:
        result="results/anticipation/lta/{run}/validation.json",
        outputs="results/anticipation/lta/{run}/outputs.json",
    log:
        "logs/anticipation/lta_evaluate/{run}.log",
    benchmark:
        "results/benchmarks/lta_evaluate/{run}.tsv"
    wildcard_constraints:
        run=LTA_REGEX,
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=memory(ANTICIPATION["mem_mb"]),
        runtime=ANTICIPATION["runtime"],
    script:
        "../scripts/lta_evaluate.py"
