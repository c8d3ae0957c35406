import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.visual_prototypes import VisualPrototypeConfig, build_visual_prototypes

settings = snakemake.params.prototypes
config = VisualPrototypeConfig(
    per_class=settings["per_class"],
    fps=settings["fps"],
    min_seconds=settings["min_seconds"],
    store_fps=snakemake.params.store_fps,
)
counts = build_visual_prototypes(
    [snakemake.input.store],
    snakemake.input.language,
    list(snakemake.input.segments),
    snakemake.output[0],
    config,
)
print(f"prototypes by source: {counts}", file=sys.stderr)
