import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.text_encoder import TextEncoderConfig
from egoflow.features.text_sets import write_text_set

# Run settings (speed, not vectors) come from the config, so changing them reruns nothing.
run = snakemake.config["features"]["text"]
config = TextEncoderConfig(**snakemake.params.encoder, batch_size=run["batch_size"], device=run["device"])
inputs = {name: path for name, path in snakemake.input.items() if name != "model"}
name = snakemake.wildcards.text_set
count = write_text_set(name, inputs, snakemake.output[0], config)
print(f"{name}: {count} distinct texts", file=sys.stderr)
