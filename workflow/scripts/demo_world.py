import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

from egoflow.demo import write_world

write_world(
    Path(snakemake.output.sheet).parent,
    size=snakemake.params.size,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
