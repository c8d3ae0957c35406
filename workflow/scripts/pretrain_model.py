import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.pretrain import resolve_run
from egoflow.train import launch_spec

spec = {
    "run": snakemake.wildcards.run,
    # params hold what changes the weights; the run settings (workers, device, checkpoint interval) come too.
    "settings": resolve_run(snakemake.config["pretrain"], snakemake.wildcards.run),
    "inputs": {name: str(path) for name, path in snakemake.input.items()},
    "run_dir": snakemake.params.run_dir,
    "model_out": snakemake.output.model,
    "config_out": snakemake.output.config,
    "log_out": snakemake.output.log,
    "extras": {"threads": snakemake.threads},
}
# One process on CPU; one per GPU of the job (torchrun) on one node; srun's tasks when the profile makes the
# job an `mpi: srun` job over several nodes (docs/cluster.md).
sys.exit(launch_spec("egoflow.pretrain", spec, snakemake.resources, log=sys.stderr))
