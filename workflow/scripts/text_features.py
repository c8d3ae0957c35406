import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.text_encoder import TextEncoderConfig
from egoflow.features.text_sets import write_text_set

settings = snakemake.params.encoder
config = TextEncoderConfig(
    model=settings["model"],
    batch_size=settings["batch_size"],
    max_length=settings["max_length"],
    device=settings["device"],
)
inputs = {name: path for name, path in snakemake.input.items() if name != "model"}
name = snakemake.wildcards.text_set
count = write_text_set(name, inputs, snakemake.output[0], config)
print(f"{name}: {count} distinct texts", file=sys.stderr)
