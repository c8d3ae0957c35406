import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.lmdb_store import merge_stores

count = merge_stores(list(snakemake.input), snakemake.output[0])
print(f"{count} frames from {len(snakemake.input)} videos", file=sys.stderr)
