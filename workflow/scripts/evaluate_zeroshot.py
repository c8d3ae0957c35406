import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.devices import pick_device
from egoflow.evaluate import multiple_choice, write_result
from egoflow.features.text_encoder import TextEncoderConfig

settings = snakemake.config["evaluate"]
text = TextEncoderConfig(**snakemake.params.text, device=settings["device"])
result = multiple_choice(
    snakemake.input.checkpoint,
    snakemake.input.questions,
    snakemake.input.manifest,
    text,
    device=pick_device(settings["device"]),
    batch_size=settings["batch_size"],
)
write_result(
    snakemake.output[0],
    system="counterfactual",
    run=snakemake.wildcards.run,
    task=snakemake.wildcards.task,
    split="test",
    checkpoint=snakemake.input.checkpoint,
    result=result,
)
print(result, file=sys.stderr)
