import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.text.narrations import write_narration_set

count = write_narration_set(snakemake.input[0], snakemake.output[0])
print(f"{count} unique narrations", file=sys.stderr)
