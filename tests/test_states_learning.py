"""The multi-task object-state model learns on the demo world: state and action precision@1 both clearly above
the random-frame baseline on the wide world's annotated videos (84 (video, category) pairs in 10 categories).

Baseline, exactly: a random pair i < j scores the mean of 0.5 [l_i = 1] + 0.5 [l_j = 3] over all pairs, a random
action second the fraction of seconds labelled 2; both averaged per category, then over categories, like the
model. The demo labels every second before the change 1 and every one after it 3 (ChangeIt's semantics: the
object is in view throughout), so the random pair is already right about 2 times in 3 (64.5 %) and a random
second 1 time in 6 (16.8 %). Intervals: 95 % percentile bootstrap over the videos (stratified by category).

The demo's change lasts about half a second, so which 1 fps frame shows it matters: upstream's frames (ffmpeg's
fps=1, `egoflow.states.data.second_frames`) are the middle of each annotated second, where 18 of the 133
action seconds fall outside the step (the hand is not on the object); with the frame at the second's start,
51 do. Demo default on wide, action precision@1 over train seeds 0-3: 49.5 / 38.6 / 43.5 / 40.8 (seed 0's
interval [41.9, 57.2]); frames at the second's start gave 31.8, action_weight 0.5 gave 35.4 / 40.6 / 21.7.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from egoflow.annotations.changeit import read_changeit
from egoflow.metrics import category_mean
from egoflow.states.inference import evaluate_predictions
from tests.workflow_run import snakemake, wide_run

pytestmark = pytest.mark.slow


def random_frame_scores(labels: np.ndarray) -> tuple[float, float]:
    t = len(labels)
    ones, threes = (labels == 1).astype(float), (labels == 3).astype(float)
    # pairs (i, j), i < j: [l_i = 1] counts once per later j, [l_j = 3] once per earlier i
    pairs = t * (t - 1) / 2
    state = (0.5 * (ones * (t - 1 - np.arange(t))).sum() + 0.5 * (threes * np.arange(t)).sum()) / pairs
    return float(state), float((labels == 2).mean())


def bootstrap(values: np.ndarray, categories: np.ndarray, n: int = 1000) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    groups = [np.flatnonzero(categories == c) for c in np.unique(categories)]
    means = [
        np.mean([values[rng.choice(g, len(g))].mean() for g in groups]) for _ in range(n)
    ]  # fmt: skip
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@pytest.fixture(scope="module")
def precisions(tmp_path_factory) -> dict[str, tuple]:
    """{metric: (n, model, model interval, random frames, random-frame interval)} of the demo default's run."""
    workdir, overlay = wide_run(tmp_path_factory)
    snakemake(workdir, "results/states/changeit.json", "--configfile", overlay, timeout=3600)
    changeit = read_changeit(workdir / "resources/demo/wide/annotations/changeit")
    predictions = pd.read_csv(workdir / "results/states/predictions.tsv", sep="\t", dtype={"video_id": str})
    per_video = pd.DataFrame(evaluate_predictions(changeit, predictions)["per_video"])
    keys = list(zip(per_video["category"], per_video["video_id"], strict=True))
    base = np.array([random_frame_scores(changeit.annotations[k]) for k in keys])  # [n, 2]
    cats = per_video["category"].to_numpy()
    out = {}
    for k, name in enumerate(("state_precision", "action_precision")):
        model = per_video[name].to_numpy()
        value, interval = 100 * category_mean(model, cats), [100 * b for b in bootstrap(model, cats)]
        chance, chance_interval = (
            100 * category_mean(base[:, k], cats),
            [100 * b for b in bootstrap(base[:, k], cats)],
        )
        out[name] = (len(per_video), value, interval, chance, chance_interval)
    return out


def check(precisions: dict, name: str) -> None:
    n, value, (lo, hi), chance, (lo0, hi0) = precisions[name]
    print(f"{name} on {n} videos: model {value:.1f} [{lo:.1f}, {hi:.1f}], random frames {chance:.1f} "
          f"[{lo0:.1f}, {hi0:.1f}] (95 % bootstrap)")  # fmt: skip
    assert n >= 80
    assert lo > hi0, f"{name}: the model's interval does not clear the random-frame baseline"


def test_state_precision_beats_the_random_frame_baseline_on_the_wide_world(precisions):
    check(precisions, "state_precision")


def test_action_precision_beats_the_random_frame_baseline_on_the_wide_world(precisions):
    check(precisions, "action_precision")
