import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.visual_backbone import BackboneConfig
from egoflow.features.visual_features import extract_video_features

# Run settings (speed, not vectors) come from the config, so changing them reruns nothing.
run = snakemake.config["features"]["visual"]
config = BackboneConfig(**snakemake.params.backbone, batch_size=run["batch_size"], device=run["device"])
count = extract_video_features(
    snakemake.input.chunks,
    snakemake.wildcards.video_uid,
    snakemake.output[0],
    config,
    snakemake.params.fps,
)
print(f"{count} frames", file=sys.stderr)
