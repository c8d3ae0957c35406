# The one results table: every stage's metrics JSON gathered into results/metrics/summary.tsv.
