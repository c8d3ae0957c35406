import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.videos.transcode import ChunkConfig, write_chunks

write_chunks(
    snakemake.params.path,
    snakemake.input.probe,
    snakemake.output[0],
    ChunkConfig(**snakemake.params.chunks),
    threads=snakemake.threads,
    on_error=snakemake.params.on_error,
)
