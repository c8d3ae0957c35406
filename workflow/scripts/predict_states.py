import sys

sys.stderr = open(snakemake.log[0], "w")

import torch

from egoflow.annotations.changeit import read_changeit
from egoflow.atomic import atomic_path
from egoflow.devices import pick_device
from egoflow.states.inference import predict_annotated

torch.set_num_threads(snakemake.threads)
table = predict_annotated(
    read_changeit(snakemake.config["annotations"]["changeit"]),
    snakemake.input.manifest,
    snakemake.input.model,
    str(pick_device(snakemake.config["states"]["device"])),
)
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
