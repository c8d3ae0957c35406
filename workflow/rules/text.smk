# Text: Before/After/counterfactual states per unique narration and counterfactual summaries per summary
# window, generated in shards by the configured backend (llama_cpp or template) through a persistent cache.


rule narration_set:
    input:
        config["annotations"]["egoclip"],
    output:
        "results/text/narrations.jsonl",
    log:
        "logs/narration_set/all.log",
    conda:
        "../../envs/text.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime="1h",
    script:
        "../scripts/narration_set.py"


rule summary_set:
    input:
        egosummary=config["annotations"]["egosummary"],
        hierarchy=config["annotations"]["summary_hierarchy"],
    output:
        "results/text/summaries.jsonl",
    log:
        "logs/summary_set/all.log",
    conda:
        "../../envs/text.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime="1h",
    params:
        keep=config["text"]["summary_narrations"],
        threshold=config["text"]["summary_subsample_from"],
    script:
        "../scripts/summary_set.py"


rule clip_states:
    input:
        queue="results/text/narrations.jsonl",
        prompts=multiext(
            f"{config['text']['prompts']}/clip_states", ".system.txt", ".user.txt"
        ),
        model=[
            m
            for m in [config["text"]["llama_cpp"]["model"]]
            if m and config["text"]["backend"] != "template"
        ],
    output:
        records="results/text/clip/{shard}.jsonl",
        errors="results/text/clip/{shard}.errors.jsonl",
    log:
        "logs/clip_states/{shard}.log",
    benchmark:
        "results/benchmarks/clip_states/{shard}.tsv"
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../../envs/text.yaml"
    threads: config["text"]["threads"]
    resources:
        mem_mb=config["text"]["mem_mb"],
        runtime=config["text"]["runtime"],
    params:
        kind="clip",
        shards=config["text"]["shards"],
        backend=config["text"]["backend"],
        llama_cpp=config["text"]["llama_cpp"],
        generation={
            k: config["text"][k]
            for k in [
                "seed",
                "max_attempts",
                "max_failure_rate",
                "clip_chars",
                "max_tokens",
            ]
        },
        cache=config["text"]["cache"],
    script:
        "../scripts/text_shard.py"


rule summary_cf:
    input:
        queue="results/text/summaries.jsonl",
        prompts=[
            f"{config['text']['prompts']}/{name}"
            for name in [
                "summary_{kind}.system.txt",
                "summary_{kind}.no_narrations.system.txt",
                "summary.user.txt",
                "summary.no_narrations.user.txt",
            ]
        ],
        model=[
            m
            for m in [config["text"]["llama_cpp"]["model"]]
            if m and config["text"]["backend"] != "template"
        ],
    output:
        records="results/text/summary/{kind}/{shard}.jsonl",
        errors="results/text/summary/{kind}/{shard}.errors.jsonl",
    log:
        "logs/summary_cf/{kind}_{shard}.log",
    benchmark:
        "results/benchmarks/summary_cf/{kind}_{shard}.tsv"
    wildcard_constraints:
        kind="order|key",
        shard=r"\d+",
    conda:
        "../../envs/text.yaml"
    threads: config["text"]["threads"]
    resources:
        mem_mb=config["text"]["mem_mb"],
        runtime=config["text"]["runtime"],
    params:
        kind=lambda wildcards: wildcards.kind,
        shards=config["text"]["shards"],
        backend=config["text"]["backend"],
        llama_cpp=config["text"]["llama_cpp"],
        generation={
            k: config["text"][k]
            for k in [
                "seed",
                "max_attempts",
                "max_failure_rate",
                "summary_chars",
                "max_tokens",
            ]
        },
        cache=config["text"]["cache"],
    script:
        "../scripts/text_shard.py"


rule merge_text:
    input:
        clip=expand(
            "results/text/clip/{shard}.jsonl", shard=range(config["text"]["shards"])
        ),
        summary=expand(
            "results/text/summary/{kind}/{shard}.jsonl",
            kind=["order", "key"],
            shard=range(config["text"]["shards"]),
        ),
    output:
        states="results/text/states.json",
        summary_cf="results/text/summary_cf.json",
        table="results/text/generations.tsv",
    log:
        "logs/merge_text/all.log",
    conda:
        "../../envs/text.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime="30m",
    script:
        "../scripts/merge_text.py"
