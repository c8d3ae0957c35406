import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.visual_backbone import BackboneConfig
from egoflow.features.visual_features import extract_video_features

settings = snakemake.params.backbone
config = BackboneConfig(
    architecture=settings["architecture"],
    checkpoint=settings["checkpoint"],
    image_size=settings["image_size"],
    mean=settings["mean"],
    std=settings["std"],
    batch_size=settings["batch_size"],
    device=settings["device"],
)
count = extract_video_features(
    snakemake.params.video,
    snakemake.wildcards.video_uid,
    snakemake.output[0],
    config,
    settings["fps"],
    probe=snakemake.input.probe,
)
print(f"{count} frames", file=sys.stderr)
