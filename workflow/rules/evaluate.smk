# Evaluation of pretrained encoders: each zero-shot task of evaluate.tasks for each run of evaluate.runs,
# one JSON of metrics each (system, run, task, split, metrics, the checkpoint and its config hash).


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
