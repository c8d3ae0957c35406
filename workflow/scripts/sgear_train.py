import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

from egoflow.anticipation.run import train_sgear
from egoflow.pretrain import resolve_run

run = snakemake.wildcards.run
# params hold what changes the weights; the run settings (device, checkpoint interval) come too.
settings = resolve_run(snakemake.config["anticipation"]["sgear"], run)
run_dir = Path(snakemake.params.run_dir)
run_dir.mkdir(parents=True, exist_ok=True)
inputs = {name: str(path) for name, path in snakemake.input.items()}
outputs = {name: str(path) for name, path in snakemake.output.items()}
# SystemExit(75) after a checkpoint on SIGUSR1 / SIGTERM: the profile's retry resumes.
train_sgear(run, settings, inputs, run_dir, outputs, threads=snakemake.threads)
