# Pretraining: one job per run of the config (pretrain.runs), the counterfactual video-language method on the
# chunked videos and the frozen text features. Checkpoints to resume from live in
# results/pretrain/<run>/checkpoints/ and are deliberately not outputs (Snakemake deletes declared outputs
# before it reruns a job): a rerun, a retry after SLURM's warning signal or a crash resumes from the newest.


rule pretrain_model:
    input:
        unpack(get_pretrain_inputs),
    output:
        model="results/pretrain/{run}/model.pt",
        config="results/pretrain/{run}/config.json",
        log=report(
            "results/pretrain/{run}/log.csv",
            category="Pretraining",
            labels={"title": "Pretraining losses", "kind": "curves"},
        ),
    log:
        "logs/pretrain/pretrain_model/{run}.log",
    benchmark:
        "results/benchmarks/pretrain_model/{run}.tsv"
    wildcard_constraints:
        run=RUN_REGEX,
    conda:
        "../../envs/train.yaml"
    threads: PRETRAIN["threads"]
    resources:
        mem_mb=memory(PRETRAIN["mem_mb"]),
        runtime=PRETRAIN["runtime"],
    params:
        settings=lambda wildcards: output_settings(RUNS[wildcards.run]),
        run_dir=lambda wildcards: f"results/pretrain/{wildcards.run}",
    script:
        "../scripts/pretrain_model.py"
