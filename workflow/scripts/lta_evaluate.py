import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.anticipation.run import evaluate_lta

inputs = {name: str(path) for name, path in snakemake.input.items()}
outputs = {name: str(path) for name, path in snakemake.output.items()}
evaluate_lta(snakemake.wildcards.run, inputs, outputs)
