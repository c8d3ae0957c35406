"""EPIC-100 MIR mAP / nDCG, dual-softmax, JPoSE relevancy and Charades mAP against hand-computed cases."""

import math

import numpy as np
import pytest

from egoflow.metrics import (
    charades_class_ap,
    charades_map,
    dual_softmax,
    jpose_relevancy,
    mir_map,
    mir_ndcg,
)


def test_mir_map_graded_precision():
    # One query, items ranked 0, 1, 2 (sim descending). rel = [1, 0.5, 1]: relevant (== 1) items at ranks 1 and 3.
    # P(1) = 1/1; P(3) = (1 + 0.5 + 1) / 3 = 2.5/3 (the 0.5 counts in the cumulative sum though not "relevant").
    # AP = (1 + 2.5/3) / 2 = 0.916666...
    sim = np.array([[0.9, 0.5, 0.1]])
    rel = np.array([[1.0, 0.5, 1.0]])
    assert mir_map(sim, rel) == pytest.approx((1 + 2.5 / 3) / 2)


def test_mir_map_mean_over_rows_and_ties():
    # Row 0: tie between items 0 and 1 (sim 0.5); ties go to the lower index, so item 0 (rel 0) ranks first,
    # item 1 (rel 1) second: AP = (0 + 1) / 2 = 0.5. Row 1: the relevant item ranks first: AP = 1.
    sim = np.array([[0.5, 0.5, 0.1], [0.2, 0.9, 0.1]])
    rel = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    assert mir_map(sim, rel) == pytest.approx((0.5 + 1.0) / 2)
    # T->V is the transpose: queries are the 3 items; item 1 has rel 1 for both rows. Column 1's sims are
    # (0.5, 0.9): row 1 first, AP 1; columns 0 and 2 have no relevant item and are left out. mAP = 1.
    assert mir_map(sim.T, rel.T) == pytest.approx(1.0)


def test_mir_all_zero_row_is_left_out():
    # Row 1 has no relevant item (and no non-zero relevancy): both metrics average over row 0 only.
    sim = np.array([[0.1, 0.9], [0.3, 0.4]])
    rel = np.array([[1.0, 0.0], [0.0, 0.0]])
    assert mir_map(sim, rel) == pytest.approx(0.5)  # item 0 at rank 2: P(2) = 1/2
    # nDCG row 0: k = 1; DCG = rel at rank 1 = 0 -> 0; IDCG = 1 -> nDCG 0.
    assert mir_ndcg(sim, rel) == pytest.approx(0.0)
    assert math.isnan(mir_map(sim, np.zeros_like(rel)))
    assert math.isnan(mir_ndcg(sim, np.zeros_like(rel)))


def test_mir_ndcg_hand_computed():
    # rel [1, 0.5, 0, 0.5], ranking by sim: items 1, 0, 3, 2. k = 3 non-zero relevancies.
    # DCG = 0.5/log2(2) + 1/log2(3) + 0.5/log2(4) = 0.5 + 0.63093 + 0.25 = 1.38093
    # IDCG (1, 0.5, 0.5) = 1 + 0.5/log2(3) + 0.5/2 = 1 + 0.31546 + 0.25 = 1.56546
    sim = np.array([[0.8, 0.9, 0.1, 0.3]])
    rel = np.array([[1.0, 0.5, 0.0, 0.5]])
    dcg = 0.5 + 1 / math.log2(3) + 0.5 / 2
    idcg = 1 + 0.5 / math.log2(3) + 0.5 / 2
    assert mir_ndcg(sim, rel) == pytest.approx(dcg / idcg)
    # The perfect ranking scores 1.
    assert mir_ndcg(rel, rel) == pytest.approx(1.0)


def test_jpose_relevancy():
    # Video 0: verb 3, nouns {1, 2}; text 0: verb 3, nouns {2} -> 1/2 + 1/2 * |{2}| / |{1, 2}| = 0.75.
    # Text 1: verb 4, nouns {5} -> 0 + 0 = 0. Video 1: verb 4, nouns {5} vs text 1 -> 1.
    rel = jpose_relevancy([3, 4], [[1, 2], [5]], [3, 4], [[2], [5]])
    np.testing.assert_allclose(
        rel, [[0.75, 0.0], [0.0, 1.0]]
    )  # video 1 vs text 0: other verb, no shared noun


def test_dual_softmax_hand_computed():
    # D = text @ video.T = [[1, 0], [0, 1]] (T x V). Row softmax of D/500: row 0 (e^{1/500}, 1)/(e^{1/500} + 1);
    # times D keeps only the diagonal: d = [[a, 0], [0, a]], a = e^{.002}/(e^{.002}+1). Column softmax:
    # column 0 = (e^a, 1)/(e^a + 1). Transposed to [V x T].
    text = np.eye(2)
    video = np.eye(2)
    a = math.exp(0.002) / (math.exp(0.002) + 1)
    p = math.exp(a) / (math.exp(a) + 1)
    np.testing.assert_allclose(dual_softmax(text, video), [[p, 1 - p], [1 - p, p]])


def test_charades_map_hand_computed():
    # 4 videos x 3 classes; video 3 has no label and is scored -inf everywhere.
    # Class 0: scores (0.9, 0.1, 0.5, 0.95->-inf): order 0, 2, 1, 3; positives videos 0, 1 at ranks 1, 3:
    # AP = (1/1 + 2/3) / 2 = 0.8333. Class 1: positive video 2 ranked 1st of (0.2, 0.3, 0.8): AP 1.
    # Class 2: no positive -> NaN per class, left out of the mean. mAP = (0.8333 + 1) / 2.
    scores = np.array([[0.9, 0.2, 0.0], [0.1, 0.3, 0.0], [0.5, 0.8, 0.0], [0.95, 0.99, 0.0]])
    targets = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]])
    ap = charades_class_ap(scores, targets)
    np.testing.assert_allclose(ap[:2], [(1 + 2 / 3) / 2, 1.0])
    assert math.isnan(ap[2])
    assert charades_map(scores, targets) == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)


def test_charades_ties_lower_index_first():
    # Class 0 scores tie (0.5, 0.5); the positive is video 1, ranked second: AP = 1/2.
    scores = np.array([[0.5], [0.5]])
    targets = np.array([[0], [1]])
    # Video 0 has no label at all -> -inf, so the positive ranks first after all: AP = 1.
    assert charades_map(scores, targets) == pytest.approx(1.0)
    targets2 = np.array([[0, 1], [1, 0]])
    assert charades_map(np.array([[0.5, 0.1], [0.5, 0.2]]), targets2) == pytest.approx((0.5 + 0.5) / 2)


def test_mir_matches_full_sort_with_ties():
    # The rank-counting implementation against the definitions written out with a full stable sort, on
    # integer-valued similarities (many ties) and graded relevancies including exact ones.
    rng = np.random.default_rng(0)
    sim = rng.integers(0, 4, (30, 12)).astype(float)
    rel = rng.choice([0, 0, 0.25, 0.5, 1.0], (30, 12))
    ranked = np.take_along_axis(rel, np.argsort(-sim, axis=1, kind="stable"), axis=1)
    ap, ndcg = [], []
    for r, g in zip(ranked, rel, strict=False):
        if (g == 1).any():
            ap.append((np.cumsum(r) / np.arange(1, 13) * (r == 1)).sum() / (r == 1).sum())
        k = int((g != 0).sum())
        if k:
            disc = 1 / np.log2(np.arange(2, k + 2))
            ndcg.append((r[:k] * disc).sum() / (np.sort(g)[::-1][:k] * disc).sum())
    assert mir_map(sim, rel) == pytest.approx(np.mean(ap))
    assert mir_ndcg(sim, rel) == pytest.approx(np.mean(ndcg))
