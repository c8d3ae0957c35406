import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.evaluate import run_retrieval_rule

result = run_retrieval_rule(
    snakemake.wildcards.task,
    dict(snakemake.input.items()),
    snakemake.output[0],
    run=snakemake.params.label,  # <run>-finetuned
    text=snakemake.params.text,
    protocol=snakemake.params.protocol,
    settings=snakemake.config["evaluate"],
)
print(result["metrics"], result["ci95"], file=sys.stderr)
