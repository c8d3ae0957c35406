import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.text.generate import run_rule_shard

# Run settings (speed, not answers) come from the config, so changing them reruns nothing.
args = (snakemake.input, snakemake.output, snakemake.params, snakemake.config["text"], snakemake.threads)
run_rule_shard(snakemake.wildcards.kind, snakemake.wildcards.shard, *args)
