import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.visual_prototypes import VisualPrototypeConfig, build_visual_prototypes

store_fps = snakemake.params.store_fps
config = VisualPrototypeConfig(
    **snakemake.params.prototypes, **({"store_fps": store_fps} if store_fps else {})
)
counts = build_visual_prototypes(
    [snakemake.input.store],
    snakemake.input.language,
    list(snakemake.input.segments),
    snakemake.output[0],
    config,
)
print(f"prototypes by source: {counts}", file=sys.stderr)
