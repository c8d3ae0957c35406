import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.text.merge import merge_text

merge_text(
    snakemake.input.clip,
    snakemake.input.summary,
    states=snakemake.output.states,
    summary_cf=snakemake.output.summary_cf,
    table=snakemake.output.table,
)
