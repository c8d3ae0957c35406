import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.videos.probe import write_probe

write_probe(
    snakemake.params.path,
    snakemake.wildcards.video_uid,
    snakemake.output[0],
    on_error=snakemake.params.on_error,
)
