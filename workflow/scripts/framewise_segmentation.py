import sys

sys.stderr = open(snakemake.log[0], "w")

import torch

torch.set_num_threads(snakemake.threads)  # the job's share of the cores, not all of them

from egoflow.devices import pick_device
from egoflow.framewise.stage import segmentation

segmentation(
    snakemake.input.features,
    snakemake.config["annotations"]["gtea"],  # the input lists the folder's files
    snakemake.params.run_dir,
    snakemake.output.result,
    snakemake.output.predictions,
    snakemake.output.figure,
    encoder=snakemake.wildcards.encoder,
    checkpoint=snakemake.input.checkpoint,
    settings=snakemake.params.settings["segmentation"],
    device=pick_device(snakemake.config["framewise"]["device"]),
)
