import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.report import build_report

build_report(
    [*snakemake.params.views, *snakemake.params.flagged, *snakemake.params.closing],
    snakemake.output[0],
    root=".",
    title=snakemake.params.title,
)
