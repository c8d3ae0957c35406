import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from egoflow.annotations.changeit import read_changeit
from egoflow.atomic import atomic_path
from egoflow.evaluate import write_result
from egoflow.states.inference import evaluate_predictions

predictions = pd.read_csv(snakemake.input.predictions, sep="\t", dtype={"video_id": str, "category": str})
result = evaluate_predictions(read_changeit(snakemake.config["annotations"]["changeit"]), predictions)
per_video = pd.DataFrame(result.pop("per_video"))
table = per_video.groupby("category")[["state_precision", "action_precision"]].mean().mul(100)
table.insert(0, "videos", per_video.groupby("category").size())
with atomic_path(snakemake.output.table) as tmp:
    table.reset_index().to_csv(tmp, sep="\t", index=False, float_format="%.2f")
write_result(
    snakemake.output.result,
    system="changeit-multitask",
    run="states",
    task="changeit",
    split="test",
    checkpoint=snakemake.input.model,
    result=result,
)
