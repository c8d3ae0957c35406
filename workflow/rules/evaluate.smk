# Evaluation of pretrained encoders: each zero-shot task of evaluate.tasks for each run of evaluate.runs,
# one JSON of metrics each (system, run, task, split, metrics, the checkpoint and its config hash).
# Fine-tuning (evaluate.finetune.runs x evaluate.finetune.tasks) through the one training loop: EPIC-100 MIR
# (MI-MM) in results/evaluate/<run>/finetuned/, Charades-Ego (multi-label BCE) in .../finetuned_charades/;
# evaluate_finetuned scores either as results/evaluate/<run>/finetuned_<task>.json.


rule evaluate_zeroshot:
    input:
        unpack(get_zeroshot_inputs),
    output:
        "results/evaluate/{run}/{task}.json",
    log:
        "logs/evaluate/evaluate_zeroshot/{run}_{task}.log",
    benchmark:
        "results/benchmarks/evaluate_zeroshot/{run}_{task}.tsv"
    wildcard_constraints:
        run=RUN_REGEX,
        task="egomcq|summarymcq",
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=memory(config["evaluate"]["mem_mb"]),
        runtime=config["evaluate"]["runtime"],
    params:
        text=pick(config["features"]["text"], "model", "max_length"),
    script:
        "../scripts/evaluate_zeroshot.py"


rule evaluate_retrieval:
    input:
        unpack(get_retrieval_inputs),
    output:
        "results/evaluate/{run}/{task}.json",
    log:
        "logs/evaluate/evaluate_retrieval/{run}_{task}.log",
    benchmark:
        "results/benchmarks/evaluate_retrieval/{run}_{task}.tsv"
    wildcard_constraints:
        run=RUN_REGEX,
        task="epic_mir|charades_ego",
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=memory(config["evaluate"]["mem_mb"]),
        runtime=config["evaluate"]["runtime"],
    params:
        text=pick(config["features"]["text"], "model", "max_length"),
        protocol=pick(config["evaluate"], "similarity", "frames"),
    script:
        "../scripts/evaluate_retrieval.py"


rule evaluate_finetune:
    input:
        checkpoint=lambda wildcards: expand(
            rules.pretrain_model.output.model, run=wildcards.run
        )[0],
        train=config["annotations"]["epic_train"],
        manifest=rules.video_manifest.output.manifest,
        text_model=local_model(config["features"]["text"]["model"]),
    output:
        model="results/evaluate/{run}/finetuned/model.pt",
        log=report(
            "results/evaluate/{run}/finetuned/log.csv",
            category="Evaluation",
            labels={"title": "EPIC-100 MIR fine-tuning losses", "kind": "curves"},
        ),
    log:
        "logs/evaluate/evaluate_finetune/{run}.log",
    benchmark:
        "results/benchmarks/evaluate_finetune/{run}.tsv"
    wildcard_constraints:
        run=RUN_REGEX,
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=memory(config["evaluate"]["finetune"]["mem_mb"]),
        runtime=config["evaluate"]["finetune"]["runtime"],
    params:
        text=pick(config["features"]["text"], "model", "max_length"),
        finetune=pick(
            config["evaluate"]["finetune"],
            "max_steps",
            "lr",
            "batch_size",
            "margin",
            "positive_threshold",
            "in_batch_relevancy",
            "frames",
            "seed",
        ),
        run_dir=lambda wildcards: f"results/evaluate/{wildcards.run}/finetuned",
    script:
        "../scripts/evaluate_finetune.py"


rule evaluate_finetune_charades:
    input:
        checkpoint=lambda wildcards: expand(
            rules.pretrain_model.output.model, run=wildcards.run
        )[0],
        train=config["annotations"]["charades_train"],
        classes=config["annotations"]["charades_classes"],
        manifest=rules.video_manifest.output.manifest,
        text_model=local_model(config["features"]["text"]["model"]),
    output:
        model="results/evaluate/{run}/finetuned_charades/model.pt",
        log=report(
            "results/evaluate/{run}/finetuned_charades/log.csv",
            category="Evaluation",
            labels={"title": "Charades-Ego fine-tuning losses", "kind": "curves"},
        ),
    log:
        "logs/evaluate/evaluate_finetune_charades/{run}.log",
    benchmark:
        "results/benchmarks/evaluate_finetune_charades/{run}.tsv"
    wildcard_constraints:
        run=RUN_REGEX,
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=memory(config["evaluate"]["finetune"]["mem_mb"]),
        runtime=config["evaluate"]["finetune"]["runtime"],
    params:
        text=pick(config["features"]["text"], "model", "max_length"),
        finetune=pick(config["evaluate"]["finetune"], "frames", "seed")
        | pick(
            config["evaluate"]["finetune"]["charades"],
            "max_steps",
            "lr",
            "batch_size",
            "temperature",
        ),
        run_dir=lambda wildcards: f"results/evaluate/{wildcards.run}/finetuned_charades",
    script:
        "../scripts/evaluate_finetune_charades.py"


rule evaluate_finetuned:
    input:
        unpack(get_finetuned_inputs),
    output:
        "results/evaluate/{run}/finetuned_{task}.json",
    log:
        "logs/evaluate/evaluate_finetuned/{run}_{task}.log",
    benchmark:
        "results/benchmarks/evaluate_finetuned/{run}_{task}.tsv"
    wildcard_constraints:
        run=RUN_REGEX,
        task="epic_mir|charades_ego",
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=memory(config["evaluate"]["mem_mb"]),
        runtime=config["evaluate"]["runtime"],
    params:
        text=pick(config["features"]["text"], "model", "max_length"),
        protocol=pick(config["evaluate"], "similarity", "frames"),
        label=lambda wildcards: f"{wildcards.run}-finetuned",
    script:
        "../scripts/evaluate_finetuned.py"
