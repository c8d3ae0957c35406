import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.text.narrations import write_summary_set

count = write_summary_set(
    snakemake.input.egosummary,
    snakemake.input.hierarchy,
    snakemake.output[0],
    keep=snakemake.params.keep,
    threshold=snakemake.params.threshold,
)
print(f"{count} unique summaries", file=sys.stderr)
