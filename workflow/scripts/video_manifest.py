import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.videos.manifest import write_manifest

accepted, rejected = write_manifest(
    snakemake.input.probes,
    snakemake.input.chunks,
    snakemake.output.manifest,
    snakemake.output.rejected,
)
print(f"{accepted} videos in the manifest, {rejected} rejected", file=sys.stderr)
