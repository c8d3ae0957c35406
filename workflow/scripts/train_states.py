import sys

sys.stderr = open(snakemake.log[0], "w")

import json
from pathlib import Path

from egoflow.train import launch

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
spec_path = run_dir / "checkpoints" / "spec.json"
spec_path.parent.mkdir(parents=True, exist_ok=True)
spec_path.write_text(json.dumps(spec, indent=2))
resources = snakemake.resources
srun = resources.get("mpi", "") == "srun"
nproc = int((resources.get("tasks_per_node", 0) if srun else resources.get("gpu", 0)) or 1)
code = launch(
    "egoflow.states.run",
    [str(spec_path)],
    nproc,
    srun=srun,
    nodes=int(resources.get("nodes", 1) or 1),
    cpus_per_task=int(resources.get("cpus_per_task", 0) or 0),
    log=sys.stderr,
)
sys.exit(code)
