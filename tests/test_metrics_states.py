"""ChangeIt precisions on hand-computed videos, and the evaluation over all 667 real annotated videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egoflow.annotations.changeit import read_changeit
from egoflow.metrics import action_precision_at_1, best_state_pair, category_mean, state_precision_at_1
from egoflow.states.inference import evaluate_predictions

CHANGEIT = Path(__file__).resolve().parents[2] / "shared/data/changeit"
if not CHANGEIT.is_dir():
    CHANGEIT = Path("/work/shared/data/changeit")


def test_best_pair_is_ordered_in_time_even_when_the_best_product_is_reversed():
    # labels:      0  1  2  3  0
    labels = [0, 1, 2, 3, 0]
    p_initial = [0.1, 0.6, 0.1, 0.2, 0.9]  # highest at 4, the last second
    p_end = [0.9, 0.1, 0.1, 0.8, 0.1]  # highest at 0, the first second
    # The unordered best (4, 0) is reversed in time. Ordered pairs i < j: (1, 3) gives 0.6 * 0.8 = 0.48, the
    # maximum ((0, 3): 0.08, (3, 4): 0.02, (1, 2): 0.06) -> both right: 0.5 + 0.5.
    assert best_state_pair(p_initial, p_end) == (1, 3)
    assert state_precision_at_1(p_initial, p_end, labels) == 1.0
    # Half right: the end state lands on the action second 2 ((1, 2): 0.6 * 0.9 beats (1, 3): 0.6 * 0.8).
    assert state_precision_at_1(p_initial, [0.0, 0.0, 0.9, 0.8, 0.0], labels) == 0.5
    # Nothing right: the initial state chosen at 0 (label 0) and the end at 2 (label 2).
    assert state_precision_at_1([0.9, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.9, 0.0, 0.0], labels) == 0.0


def test_ties_take_the_first_pair_and_the_first_action_second():
    labels = [0, 1, 3, 1, 3]
    # Constant scores: every pair ties; upstream's double loop keeps the first, (0, 1): 0 + 0 -> labels 0, 1.
    assert best_state_pair([0.5] * 5, [0.5] * 5) == (0, 1)
    assert state_precision_at_1([0.5] * 5, [0.5] * 5, labels) == 0.0
    # (1, 2) and (3, 4) both score 0.25: the first wins -> 0.5 + 0.5.
    assert best_state_pair([0, 0.5, 0, 0.5, 0], [0, 0, 0.5, 0, 0.5]) == (1, 2)
    # action: argmax ties -> the first second; second 1 (label 1) before second 2 (label 2)
    assert action_precision_at_1([0.1, 0.7, 0.7, 0.1], [0, 1, 2, 2]) == 0.0
    assert action_precision_at_1([0.1, 0.2, 0.7, 0.7], [0, 1, 2, 2]) == 1.0
    # one-second video: upstream's pair is (0, 0)
    assert state_precision_at_1([0.3], [0.4], [3]) == 0.5


def test_category_mean_weighs_categories_equally():
    # category a: 1, 0, 1 -> 2/3; category b: 0 -> 0; mean over categories 1/3 (pooled would be 1/2).
    assert category_mean([1, 0, 1, 0], ["a", "a", "a", "b"]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="values for"):
        category_mean([1, 0], ["a"])
    with pytest.raises(ValueError, match="labelled seconds"):
        action_precision_at_1([0.1, 0.2], [0, 1, 2])


def test_evaluation_over_all_667_real_annotated_videos():
    changeit = read_changeit(CHANGEIT)
    assert len(changeit.annotations) == 667
    rng = np.random.default_rng(0)
    parts, oracle = [], []
    for (category, uid), labels in changeit.annotations.items():
        t = len(labels)
        scores = rng.random((3, t))
        parts.append(pd.DataFrame({"category": category, "video_id": uid, "second": np.arange(t),
                                   "p_initial": scores[0], "p_end": scores[1], "p_action": scores[2]}))  # fmt: skip
        # Oracle scores: 1 on the labelled seconds. Videos whose labels allow it score 1 on both precisions.
        oracle.append(pd.DataFrame({"category": category, "video_id": uid, "second": np.arange(t),
                                    "p_initial": (labels == 1) * 1.0, "p_end": (labels == 3) * 1.0,
                                    "p_action": (labels == 2) * 1.0}))  # fmt: skip
    random = evaluate_predictions(changeit, pd.concat(parts, ignore_index=True))
    assert random["n"] == {"videos": 667, "categories": 44} and random["missing"] == []
    best = evaluate_predictions(changeit, pd.concat(oracle, ignore_index=True))
    print(f"667 real videos: random scores {random['metrics']}, oracle {best['metrics']}")
    # Random scores sit near chance (random seconds); the oracle is right wherever an order exists.
    assert 5 < random["metrics"]["state_precision"] < 40 and 20 < random["metrics"]["action_precision"] < 60
    # The oracle's action precision is 1 exactly on the videos with an action second (not all 667 have one).
    has_action = [float((labels == 2).any()) for labels in changeit.annotations.values()]
    expected = 100 * category_mean(has_action, [c for c, _ in changeit.annotations])
    assert best["metrics"]["action_precision"] == pytest.approx(expected) and expected > 90
    assert best["metrics"]["state_precision"] > 75  # 81.5: some videos lack a state label or end first
    # a prediction of the wrong length names the video
    short = parts[0].iloc[:-1]
    with pytest.raises(ValueError, match="predicted seconds"):
        evaluate_predictions(changeit, pd.concat([short, *parts[1:]], ignore_index=True))
