import sys

sys.stderr = open(snakemake.log[0], "w")

import json

from egoflow.devices import pick_device
from egoflow.train import launch_spec

settings = json.loads(json.dumps(snakemake.params.settings["carl"]))
# The device is a run setting (it does not change what is learned): from the config, not params.
settings["train"]["device"] = pick_device(snakemake.config["framewise"]["device"])
spec = {
    "frames": snakemake.input.frames,
    "settings": settings,
    "run_dir": snakemake.params.run_dir,
    "model_out": snakemake.output.model,
    "threads": snakemake.threads,
}
# The loop writes <run_dir>/log.csv itself, which is the rule's log output. One process per GPU of the job.
sys.exit(launch_spec("egoflow.framewise.carl", spec, snakemake.resources, log=sys.stderr))
