import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.metrics.summary import write_summary
from egoflow.report.results import results_figure

rows = write_summary(snakemake.input, snakemake.output.table)
panels = results_figure(snakemake.output.table, snakemake.output.figure)
print(f"{len(rows)} rows from {len(snakemake.input)} files; panels: {panels}", file=sys.stderr)
