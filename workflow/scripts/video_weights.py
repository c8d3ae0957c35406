import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.annotations.changeit import read_changeit
from egoflow.atomic import atomic_path
from egoflow.states.targets import video_weights

method = snakemake.params.method
table = video_weights(
    read_changeit(snakemake.config["annotations"]["changeit"]),
    method["temperature"],
    method["video_weights"],
)
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
print(f"{len(table)} videos, {int((table['weight'] > 0.5).sum())} above their threshold", file=sys.stderr)
