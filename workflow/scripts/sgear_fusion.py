import sys

sys.stderr = open(snakemake.log[0], "w")

from egoflow.anticipation.run import fuse_sgear

fusion = snakemake.params.fusion
named = dict(snakemake.input.items())
lists = {k: str(named[k]) for k in ("unseen", "tail_verbs", "tail_nouns") if k in named}
scores = [str(path) for path in snakemake.input.scores]
fuse_sgear(
    fusion["runs"],
    fusion["weights"],
    scores,
    {"language": str(named["language"])},
    lists,
    snakemake.output[0],
)
