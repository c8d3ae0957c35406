import sys

sys.stderr = open(snakemake.log[0], "w")

import torch

torch.set_num_threads(snakemake.threads)  # the job's share of the cores, not all of them

import json
from pathlib import Path

from egoflow.devices import pick_device
from egoflow.framewise.carl import run_carl

settings = json.loads(json.dumps(snakemake.params.settings["carl"]))
# The device is a run setting (it does not change what is learned): from the config, not params.
settings["train"]["device"] = pick_device(snakemake.config["framewise"]["device"])
run_dir = Path(snakemake.params.run_dir)
# The loop writes <run_dir>/log.csv itself, which is the rule's log output.
run_carl(
    {
        "frames": snakemake.input.frames,
        "settings": settings,
        "run_dir": str(run_dir),
        "model_out": snakemake.output.model,
    }
)
