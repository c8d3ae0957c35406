import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

from egoflow.text.backends import LlamaCppConfig
from egoflow.text.generate import GenerationConfig, run_shard

run_shard(
    snakemake.input.queue,
    snakemake.params.kind,
    int(snakemake.wildcards.shard),
    snakemake.params.shards,
    prompts=Path(snakemake.input.prompts[0]).parent,
    cache=snakemake.params.cache,
    out=snakemake.output.records,
    errors=snakemake.output.errors,
    backend=snakemake.params.backend,
    llama_cpp=LlamaCppConfig(**snakemake.params.llama_cpp),
    config=GenerationConfig(**snakemake.params.generation),
    threads=snakemake.threads,
)
