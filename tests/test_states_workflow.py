"""The states stage in the shared tiny `all` run: weights, model, predictions of every annotated video, the
result row; `predict` and the CLI verb on a demo video give one probability per second of the video."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from egoflow.annotations.changeit import read_changeit
from egoflow.cli import main as cli_main
from egoflow.states import predict
from tests.workflow_run import reference_run


def test_states_outputs_of_the_tiny_run(tmp_path_factory, tmp_path, capsys):
    workdir = reference_run(tmp_path_factory)
    changeit = read_changeit(workdir / "resources/demo/tiny/annotations/changeit")
    weights = pd.read_csv(workdir / "results/states/video_weights.tsv", sep="\t")
    assert len(weights) == len(changeit.videos) and set(weights["weight"].round(3)) <= {0.0, 1.0}
    predictions = pd.read_csv(workdir / "results/states/predictions.tsv", sep="\t")
    for (category, uid), labels in changeit.annotations.items():
        rows = predictions[(predictions["category"] == category) & (predictions["video_id"] == uid)]
        assert len(rows) == len(labels), (category, uid)  # one row per annotated second
        # ChangeIt's semantics on the demo, whose object is in view throughout: 1 before the change, 2 while it
        # happens, 3 after it (no background second)
        assert 2 in labels and set(labels) <= {1, 2, 3} and np.all(np.diff(labels) >= 0), (category, uid)
    row = json.loads((workdir / "results/states/changeit.json").read_text())
    assert row["n"]["videos"] == len(changeit.annotations) and row["missing"] == []
    assert set(row["metrics"]) == {"state_precision", "action_precision"}

    # predict(video) on a demo video: as many seconds as its annotation file has lines
    (category, uid), labels = next(iter(changeit.annotations.items()))
    video = workdir / f"resources/demo/tiny/videos/{uid}.mp4"
    model = workdir / "results/states/model.pt"
    out = predict(video, model, category)
    assert list(out) == [category]
    for name in ("initial", "end", "action"):
        assert out[category][name].shape == (len(labels),)
        assert np.all((out[category][name] >= 0) & (out[category][name] <= 1))
    # the same numbers as the predictions of the chunks (same frames: decoding the source or its chunks)
    rows = predictions[(predictions["category"] == category) & (predictions["video_id"] == uid)]
    assert np.allclose(out[category]["action"], rows["p_action"], atol=1e-3)
    everything = predict(video, model)
    assert len(everything) == len(changeit.categories)
    assert cli_main(["states-predict", str(video), "--model", str(model), "--category", category]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "category,second,p_initial,p_end,p_action" and len(lines) == 1 + len(labels)
