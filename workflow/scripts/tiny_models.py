import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.features.tiny_models import build_tiny_flava, build_tiny_vit

build_tiny_flava(snakemake.output.flava, seed=snakemake.params.seed)
build_tiny_vit(snakemake.output.vit, seed=snakemake.params.seed)
