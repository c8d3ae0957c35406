import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.evaluate import run_finetune_rule

run_finetune_rule(
    "epic_mir",
    dict(snakemake.input.items()),
    snakemake.output.model,
    snakemake.output.log,
    snakemake.params.run_dir,
    run=f"{snakemake.wildcards.run}-finetuned",
    text=snakemake.params.text,
    chosen=snakemake.params.finetune,
    settings=snakemake.config["evaluate"],
    threads=snakemake.threads,
)
