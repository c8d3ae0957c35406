import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.devices import pick_device
from egoflow.evaluate import retrieval_task, write_result
from egoflow.features.text_encoder import TextEncoderConfig

settings = snakemake.config["evaluate"]
inputs = dict(snakemake.input.items())
result = retrieval_task(
    snakemake.wildcards.task,
    inputs,
    text=TextEncoderConfig(**snakemake.params.text, device=settings["device"]),
    protocol=snakemake.params.protocol,
    device=pick_device(settings["device"]),
    batch_size=settings["batch_size"],
)
write_result(
    snakemake.output[0],
    system="counterfactual",
    run=snakemake.params.label,  # <run>-finetuned
    task=snakemake.wildcards.task,
    split="test",
    checkpoint=inputs["checkpoint"],
    result=result,
)
print(result["metrics"], result["ci95"], file=sys.stderr)
