import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

from egoflow.text.backends import LlamaCppConfig
from egoflow.text.generate import GenerationConfig, run_shard

# Run settings (speed, not answers) come from the config, so changing them reruns nothing.
run = snakemake.config["text"]
llama_cpp = snakemake.params.llama_cpp  # None when the template backend answers
if llama_cpp:
    llama_cpp = LlamaCppConfig(
        **llama_cpp, **{k: run["llama_cpp"][k] for k in ("n_ctx", "n_batch", "n_gpu_layers")}
    )
run_shard(
    snakemake.input.queue,
    snakemake.wildcards.kind,
    int(snakemake.wildcards.shard),
    snakemake.params.shards,
    prompts=Path(snakemake.input.prompts[0]).parent,
    cache=run["cache"],
    out=snakemake.output.records,
    errors=snakemake.output.errors,
    backend=snakemake.params.backend,
    llama_cpp=llama_cpp,
    config=GenerationConfig(**snakemake.params.generation),
    threads=snakemake.threads,
)
