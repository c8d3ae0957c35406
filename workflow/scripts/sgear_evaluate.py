import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.anticipation.run import evaluate_sgear

inputs = {name: str(path) for name, path in snakemake.input.items()}
lists = {k: inputs.pop(k) for k in ("unseen", "tail_verbs", "tail_nouns") if k in inputs}
outputs = {name: str(path) for name, path in snakemake.output.items()}
evaluate_sgear(snakemake.wildcards.run, inputs, lists, outputs)
