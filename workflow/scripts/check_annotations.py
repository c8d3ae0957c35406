import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.annotations import check_annotations

check_annotations(snakemake.params.annotations, snakemake.params.known_videos, snakemake.output[0])
