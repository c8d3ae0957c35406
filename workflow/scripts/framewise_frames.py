import sys

sys.stderr = open(snakemake.log[0], "w")

import torch

torch.set_num_threads(snakemake.threads)  # the job's share of the cores, not all of them

from pathlib import Path

from egoflow.framewise.frames import extract_frames, gtea_items, phase_items

frames = snakemake.params.frames
gtea = snakemake.wildcards.set == "gtea"
if gtea:  # the input lists the folder's files; the reader takes the folder
    items = gtea_items(snakemake.config["annotations"]["gtea"], frames["gtea_fps"])
else:
    items = phase_items(snakemake.input.labels)
chunks_root = Path(snakemake.input.manifest).parent / "chunks"
extract_frames(
    items, chunks_root, snakemake.output[0], fps=frames["frames"]["fps"], size=frames["frames"]["size"]
)
