import sys

sys.stderr = open(snakemake.log[0], "w")

import torch

torch.set_num_threads(snakemake.threads)  # the job's share of the cores, not all of them

from egoflow.framewise.stage import phase_evaluation

phase_evaluation(
    snakemake.input.train,
    snakemake.input.val,
    snakemake.input.test,
    snakemake.output.result,
    snakemake.output.figure,
    encoder=snakemake.wildcards.encoder,
    checkpoint=snakemake.input.checkpoint,
    protocol=snakemake.params.protocol["protocol"],
)
