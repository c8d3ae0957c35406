"""Frame-wise metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from egoflow.metrics import frame_retrieval_map, kendalls_tau, phase_classification, phase_progression
from egoflow.metrics.framewise import progression_targets


def test_kendalls_tau_aligned_and_reversed_pairs():
    line = np.arange(21, dtype=float)[:, None]  # one 1-d embedding per frame, increasing
    # Identical videos: each strided frame's nearest neighbour is itself -> tau 1 both ways.
    assert kendalls_tau([line, line.copy()], stride=5) == pytest.approx(1.0)
    # Reversed video (strided: 20, 15, 10, 5, 0): queries 0, 5, 10, 15, 20 match indices 4, 3, 2, 1, 0 -> tau -1.
    assert kendalls_tau([line, line[::-1].copy()], stride=5) == pytest.approx(-1.0)


def test_frame_retrieval_map_hand_case():
    # Three videos of two frames, 1-d embeddings (label): v0 0 (0), 10 (1); v1 1 (0), 11 (1); v2 2.5 (1), 12.5 (0).
    # k = 3, same-video frames excluded. Relevance of the 3 nearest, AP = Σ P@j·rel_j / #rel:
    #   v0 x=0:   1 (rel), 2.5, 11          -> 1
    #   v0 x=10:  11 (rel), 12.5, 2.5 (rel) -> (1 + 2/3) / 2 = 5/6
    #   v1 x=1:   0 (rel), 2.5, 10          -> 1
    #   v1 x=11:  10 (rel), 12.5, 2.5 (rel) -> 5/6
    #   v2 x=2.5: 1, 0, 10 (rel)            -> (1/3) / 1 = 1/3
    #   v2 x=12.5: 11, 10, 1 (rel)          -> 1/3
    # mean = (1 + 5/6 + 1 + 5/6 + 1/3 + 1/3) / 6 = 13/18.
    x = np.array([0, 10, 1, 11, 2.5, 12.5])[:, None]
    labels = np.array([0, 1, 0, 1, 1, 0])
    videos = np.array([0, 0, 1, 1, 2, 2])
    assert frame_retrieval_map(x, labels, videos, k=3) == pytest.approx(13 / 18)
    # No relevant frame among the k -> AP 0 (k = 1 for v2's queries gives 0, the others 1): mean 4/6.
    assert frame_retrieval_map(x, labels, videos, k=1) == pytest.approx(4 / 6)


def test_phase_classification_separable_and_single_class():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    x = np.eye(3)[y] * 5 + rng.normal(0, 0.1, (60, 3))
    for classifier in ("logistic", "svm"):
        assert phase_classification(x, y, x, y, classifier) == {"accuracy": 1.0, "f1_weighted": 1.0}
    # One training class: every test frame gets it -> accuracy 20/60; weighted F1 = (1/3)·F1(class 0) = (1/3)·0.5.
    got = phase_classification(x[:20], y[:20], x, y)
    assert got["accuracy"] == pytest.approx(1 / 3) and got["f1_weighted"] == pytest.approx(0.5 / 3)


def test_progression_targets_and_perfect_regression():
    labels = np.array([0, 0, 1, 1, 1, 2])
    # Last frame of phase 0 is 1, of phase 1 is 4; T = 6 -> targets (t - 1)/6 and (t - 4)/6.
    want = np.stack([(np.arange(6) - 1) / 6, (np.arange(6) - 4) / 6], 1)
    assert np.allclose(progression_targets(labels, [0, 1]), want)
    # Embedding = the targets themselves: every regression is exact -> R² = 1.
    videos = [np.array([0, 0, 1, 1, 1, 2]), np.array([0, 1, 1, 2, 2, 2, 2, 2])]
    embs = [progression_targets(v, [0, 1]) for v in videos]
    assert phase_progression(embs, videos, embs, videos) == pytest.approx(1.0)
