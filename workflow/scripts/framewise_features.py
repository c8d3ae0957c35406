import sys

sys.stderr = open(snakemake.log[0], "w")

import torch

torch.set_num_threads(snakemake.threads)  # the job's share of the cores, not all of them

from egoflow.framewise.stage import frame_features

config = snakemake.config["framewise"]
frame_features(
    snakemake.input.frames,
    snakemake.wildcards.encoder,
    snakemake.input.checkpoint,
    snakemake.output[0],
    size=snakemake.params.window["frames"]["size"],
    window=snakemake.params.window["window"],
    batch=config["batch_size"],
    device=config["device"],
    text_features=snakemake.input.get("text_features"),
    released=snakemake.params.released or None,
)
