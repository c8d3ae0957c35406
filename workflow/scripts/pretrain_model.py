import sys

sys.stderr = open(snakemake.log[0], "w")

import json
from pathlib import Path

from egoflow.pretrain import resolve_run
from egoflow.train import launch

run_dir = Path(snakemake.params.run_dir)
run_dir.mkdir(parents=True, exist_ok=True)
spec = {
    "run": snakemake.wildcards.run,
    # params hold what changes the weights; the run settings (workers, device, checkpoint interval) come too.
    "settings": resolve_run(snakemake.config["pretrain"], snakemake.wildcards.run),
    "inputs": {name: str(path) for name, path in snakemake.input.items()},
    "run_dir": str(run_dir),
    "model_out": snakemake.output.model,
    "config_out": snakemake.output.config,
    "log_out": snakemake.output.log,
    "extras": {"threads": snakemake.threads},
}
spec_path = run_dir / "checkpoints" / "spec.json"
spec_path.parent.mkdir(parents=True, exist_ok=True)
spec_path.write_text(json.dumps(spec, indent=2))
# One process on CPU; one per GPU of the job (torchrun) on one node; srun's tasks when the profile makes the
# job an `mpi: srun` job over several nodes (docs/cluster.md).
resources = snakemake.resources
srun = resources.get("mpi", "") == "srun"
nproc = int((resources.get("tasks_per_node", 0) if srun else resources.get("gpu", 0)) or 1)
nodes = int(resources.get("nodes", 1) or 1)
cpus = int(resources.get("cpus_per_task", 0) or 0)
code = launch(
    "egoflow.pretrain", [str(spec_path)], nproc, srun=srun, nodes=nodes, cpus_per_task=cpus, log=sys.stderr
)
sys.exit(code)
