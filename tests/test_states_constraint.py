"""The ordering constraint (O(T) running maxima) equals the exhaustive triplet search, ties included."""

from __future__ import annotations

import numpy as np
import pytest

from egoflow.states import exhaustive_ordering, ordering_constraint


@pytest.mark.parametrize("discrete", [False, True])
def test_matches_exhaustive_search_over_sizes_and_gaps(discrete):
    # Sizes 3..40 and gaps 1..60, so many gaps exceed T (the window is then the whole video). Discrete values
    # (quarters, exact products in float64) make ties common: the lexicographically smallest (s1, a, s2) wins.
    rng = np.random.default_rng(1 + discrete)
    checked = 0
    for _ in range(600):
        t, gap = int(rng.integers(3, 41)), int(rng.integers(1, 61))
        probs = [rng.integers(0, 5, t) / 4 if discrete else rng.random(t) for _ in range(3)]
        assert ordering_constraint(*probs, max_gap=gap) == exhaustive_ordering(*probs, max_gap=gap), (t, gap)
        checked += gap > t
    assert checked > 100  # gaps larger than the video were exercised


def test_unlimited_gap_and_a_hand_made_case():
    # p_initial peaks at 0, p_action at 2, p_end at 4: with the gap at 2 the triplet (0, 2, 4) is allowed and
    # scores 0.9 * 0.8 * 0.7 = 0.504; with gap 1 the best has a - s1 <= 1 and s2 - a <= 1.
    p1 = [0.9, 0.1, 0.1, 0.1, 0.1]
    pa = [0.0, 0.1, 0.8, 0.1, 0.0]
    p2 = [0.1, 0.1, 0.1, 0.1, 0.7]
    assert ordering_constraint(p1, pa, p2, max_gap=2) == (0, 2, 4, pytest.approx(0.504))
    assert ordering_constraint(p1, pa, p2, max_gap=None)[:3] == (0, 2, 4)
    # gap 1: (1, 2, 3) scores 0.1 * 0.8 * 0.1 = 0.008, (0, 1, 2) 0.9 * 0.1 * 0.1 = 0.009 -> (0, 1, 2)
    assert ordering_constraint(p1, pa, p2, max_gap=1) == (0, 1, 2, pytest.approx(0.009))
    # all-equal scores: the first triplet
    assert ordering_constraint([0.5] * 6, [0.5] * 6, [0.5] * 6)[:3] == (0, 1, 2)
    assert ordering_constraint([0.0] * 4, [1.0] * 4, [1.0] * 4) == (0, 1, 2, 0.0)


def test_long_video_and_bad_inputs():
    rng = np.random.default_rng(0)
    p1, pa, p2 = (rng.random(5000) for _ in range(3))
    p1[1000], pa[1300], p2[1700] = (
        5.0,
        5.0,
        5.0,
    )  # unnormalised scores are fine; the peaks are 300 and 400 apart
    assert ordering_constraint(p1, pa, p2, max_gap=500)[:3] == (1000, 1300, 1700)
    assert ordering_constraint(p1, pa, p2, max_gap=350)[:3] != (1000, 1300, 1700)
    with pytest.raises(ValueError, match="at least 3"):
        ordering_constraint([1, 1], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="lengths"):
        ordering_constraint([1, 1, 1], [1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="non-negative"):
        ordering_constraint([1, np.nan, 1], [1, 1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="max_gap"):
        ordering_constraint([1, 1, 1], [1, 1, 1], [1, 1, 1], max_gap=0)
