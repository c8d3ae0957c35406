# Text: Before/After/counterfactual states per unique narration and counterfactual summaries per summary
# window, generated in shards by the configured backend (llama_cpp or template) through a persistent cache.


rule narration_set:
    input:
        config["annotations"]["egoclip"],
    output:
        "results/text/narrations.jsonl",
    log:
        "logs/text/narration_set/all.log",
    conda:
        "../../envs/text.yaml"
    threads: 1
    resources:
        mem_mb=memory(8000),
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
        "logs/text/summary_set/all.log",
    conda:
        "../../envs/text.yaml"
    threads: 1
    resources:
        mem_mb=memory(8000),
        runtime="1h",
    params:
        keep=config["text"]["summary_narrations"],
        threshold=config["text"]["summary_subsample_from"],
    script:
        "../scripts/summary_set.py"


rule clip_states:
    input:
        queue=rules.narration_set.output[0],
        prompts=multiext(
            f"{config['text']['prompts']}/clip_states", ".system.txt", ".user.txt"
        ),
        model=TEXT_MODEL,
    output:
        records="results/text/clip/{shard}.jsonl",
        errors="results/text/clip/{shard}.errors.jsonl",
    log:
        "logs/text/clip_states/{shard}.log",
    benchmark:
        "results/benchmarks/clip_states/{shard}.tsv"
    wildcard_constraints:
        shard=r"\d+",
    conda:
        "../../envs/text.yaml"
    threads: config["text"]["threads"]
    resources:
        mem_mb=memory(config["text"]["mem_mb"]),
        runtime=config["text"]["runtime"],
    params:
        shards=config["text"]["shards"],
        backend=TEXT_BACKEND,
        llama_cpp=LLAMA_CPP,
        generation=text_generation("clip_chars"),
    script:
        "../scripts/clip_states.py"


rule summary_cf:
    input:
        queue=rules.summary_set.output[0],
        prompts=[
            f"{config['text']['prompts']}/{name}"
            for name in [
                "summary_{kind}.system.txt",
                "summary_{kind}.no_narrations.system.txt",
                "summary.user.txt",
                "summary.no_narrations.user.txt",
            ]
        ],
        model=TEXT_MODEL,
    output:
        records="results/text/summary/{kind}/{shard}.jsonl",
        errors="results/text/summary/{kind}/{shard}.errors.jsonl",
    log:
        "logs/text/summary_cf/{kind}_{shard}.log",
    benchmark:
        "results/benchmarks/summary_cf/{kind}_{shard}.tsv"
    wildcard_constraints:
        kind="order|key",
        shard=r"\d+",
    conda:
        "../../envs/text.yaml"
    threads: config["text"]["threads"]
    resources:
        mem_mb=memory(config["text"]["mem_mb"]),
        runtime=config["text"]["runtime"],
    params:
        shards=config["text"]["shards"],
        backend=TEXT_BACKEND,
        llama_cpp=LLAMA_CPP,
        generation=text_generation("summary_chars"),
    script:
        "../scripts/summary_cf.py"


rule merge_text:
    input:
        clip=expand(
            rules.clip_states.output.records, shard=range(config["text"]["shards"])
        ),
        summary=expand(
            rules.summary_cf.output.records,
            kind=["order", "key"],
            shard=range(config["text"]["shards"]),
        ),
    output:
        states="results/text/states.json",
        summary_cf="results/text/summary_cf.json",
        table="results/text/generations.tsv",
    log:
        "logs/text/merge_text/all.log",
    conda:
        "../../envs/text.yaml"
    threads: 1
    resources:
        mem_mb=memory(8000),
        runtime="30m",
    script:
        "../scripts/merge_text.py"
