"""Anticipation metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from egoflow.metrics import (
    action_tokens,
    class_mean_recall,
    levenshtein,
    lta_edit_distance,
    marginalize_action_scores,
    topk_accuracy,
)


def test_class_mean_recall_weights_every_present_class_equally():
    # 3 classes present: class 0 has 3 samples (2 hits at k=1), class 1 one sample (a hit), class 2 one (a miss).
    # per class 2/3, 1, 0 -> mean 5/9; top-1 accuracy pools the samples instead: 3/5.
    scores = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.1, 0.9, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.5]])
    labels = np.array([0, 0, 0, 1, 2])
    assert class_mean_recall(scores, labels, k=1) == pytest.approx(5 / 9)
    assert topk_accuracy(scores, labels, k=1) == pytest.approx(3 / 5)
    # k=2: the miss of class 0 (sample 2 ranks class 0 second) and class 2 (second in its row) become hits
    assert class_mean_recall(scores, labels, k=2) == pytest.approx(1.0)


def test_class_mean_recall_with_a_class_of_one_sample():
    # class 7 of one sample that is missed counts as a whole class at 0: (1 + 0) / 2
    scores = np.zeros((3, 10))
    scores[:, 3] = 1.0
    labels = np.array([3, 3, 7])
    assert class_mean_recall(scores, labels, k=1) == pytest.approx(0.5)


def test_marginalisation_sums_to_one_per_row():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 5))
    action_verb, action_noun = np.array([0, 0, 1, 2, 2]), np.array([1, 0, 1, 3, 2])
    verb, noun = marginalize_action_scores(logits, action_verb, action_noun, num_verbs=4, num_nouns=5)
    np.testing.assert_allclose(verb.sum(1), 1.0)
    np.testing.assert_allclose(noun.sum(1), 1.0)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(verb[:, 0], p[:, 0] + p[:, 1])  # verb 0 = actions 0 and 1
    np.testing.assert_allclose(noun[:, 1], p[:, 0] + p[:, 2])
    assert np.all(verb[:, 3] == 0) and np.all(noun[:, 4] == 0)  # a verb / noun without actions gets 0


def test_levenshtein_has_no_transpositions():
    assert levenshtein([1, 2, 3], [1, 2, 3]) == 0
    assert levenshtein([1, 2], [2, 1]) == 2  # Damerau would say 1
    assert levenshtein([1, 2, 3, 4], [1, 3, 4]) == 1


def test_edit_distance_takes_the_best_of_k_sequences():
    # sample 0: of K = 3 sequences only the last matches exactly -> 0; sample 1: best sequence has 1 of 4 wrong.
    preds = np.array(
        [
            [[9, 9, 9, 9], [1, 2, 9, 9], [1, 2, 3, 4]],
            [[5, 5, 5, 5], [5, 6, 7, 0], [0, 0, 0, 0]],
        ]
    )
    labels = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert lta_edit_distance(preds, labels) == pytest.approx((0 + 1 / 4) / 2)


def test_action_tokens_match_only_when_verb_and_noun_both_do():
    tokens = action_tokens(np.array([[1, 2]]), np.array([[3, 4]]), num_nouns=10)
    assert tokens.tolist() == [[13, 24]]
    gt = action_tokens(np.array([[1, 2]]), np.array([[3, 5]]), num_nouns=10)
    assert lta_edit_distance(tokens[:, None], gt) == pytest.approx(1 / 2)
