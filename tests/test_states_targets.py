"""Noise-adaptive video weights and the pseudo-labelled frames of a step (digest A.4-A.5)."""

from __future__ import annotations

import numpy as np
import pytest

from egoflow.states import pseudo_targets, video_weight


def test_video_weight_is_a_sharp_sigmoid_at_the_threshold():
    # (r - theta) / 0.001: +-0.01 is +-10 -> sigmoid 0.99995 / 0.0000454; at the threshold exactly 0.5
    w = video_weight([0.31, 0.30, 0.29], 0.30)
    assert w == pytest.approx([1 / (1 + np.exp(-10)), 0.5, 1 / (1 + np.exp(10))])
    assert video_weight([0.9, 0.0], 0.5, temperature=0.001)[1] == 0.0  # no overflow warning far below
    assert list(video_weight([0.1, 0.9], 0.5, enabled=False)) == [1.0, 1.0]


def test_pseudo_targets_follow_upstream_layout_and_clamp():
    # s1 = 0, a = 3, s2 = 5 in a 7-frame video of category 1 of C = 2: state classes 2, 3, background 4;
    # action class 1, background 2; kappa 60 puts the far frames at the ends.
    t = pseudo_targets(0, 3, 5, 7, 1, 2, kappa=60)
    assert t["frames"].tolist() == [0, 0, 1, 4, 5, 6, 2, 3, 4, 0, 0, 0, 6, 6, 6]
    assert t["state"].tolist() == [2] * 3 + [3] * 3 + [4] * 9
    assert t["state_mask"].tolist() == [1.0] * 9 + [0.0] * 6
    assert t["action"].tolist() == [2] * 6 + [1] * 3 + [2] * 6
