import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

from egoflow.train import launch_spec

section = snakemake.config["states"]
run_dir = Path(snakemake.output.model).parent  # checkpoints/ beside the final weights
spec = {
    # params hold what changes the weights; the run settings (workers, device, checkpoint interval) come too.
    "settings": {k: section[k] for k in ("model", "frames", "method", "optim", "train")},
    "inputs": {
        "manifest": snakemake.input.manifest,
        "changeit": snakemake.config["annotations"]["changeit"],
    },
    "run_dir": str(run_dir),
    "model_out": snakemake.output.model,
    "config_out": snakemake.output.config,
    "log_out": snakemake.output.log,
    "extras": {"threads": snakemake.threads},
}
sys.exit(launch_spec("egoflow.states.run", spec, snakemake.resources, log=sys.stderr))
