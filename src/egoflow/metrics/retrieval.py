"""Retrieval and recognition metrics: EPIC-100 multi-instance retrieval (mAP, nDCG), Charades-Ego mAP.

Definitions (counterfactual-pretraining.md §6.1-6.2): EPIC-100 MIR scores a [queries x items] similarity against a
graded relevancy of the same shape (JPoSE: 1/2 [same verb class] + 1/2 IoU of the noun-class sets); V->T uses the
[videos x sentences] matrices as they are, T->V their transposes. Ranks break ties by item index (a stable sort),
so results do not depend on the sort algorithm.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = [
    "charades_class_ap",
    "charades_map",
    "dual_softmax",
    "jpose_relevancy",
    "mir_map",
    "mir_ndcg",
]


def _sorted_rows(sim: np.ndarray, rel: np.ndarray) -> np.ndarray:
    sim, rel = np.asarray(sim), np.asarray(rel)
    assert sim.ndim == 2 and sim.shape == rel.shape, f"sim {sim.shape} and rel {rel.shape}: same 2-D shape"
    return np.sort(np.ascontiguousarray(sim), axis=1)  # [Q, N] ascending values


def _rank(row: np.ndarray, values: np.ndarray, items: np.ndarray) -> np.ndarray:
    """1-based ranks of `items` in `row` by descending value, ties to the lower index (a stable sort): 1 +
    #{greater} + #{equal at a lower index}, read off the row's sorted `values` instead of sorting indices."""
    s = row[items]
    right = np.searchsorted(values, s, "right")
    rank = len(values) - right + 1
    tied = np.flatnonzero(right - np.searchsorted(values, s, "left") > 1)
    for k in tied:  # rare with real-valued scores
        rank[k] += int(np.count_nonzero(row[: items[k]] == s[k]))
    return rank


def _by_rank(row: np.ndarray, graded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero items of a row in rank order (zero-relevancy items add nothing to either metric)."""
    items = np.flatnonzero(graded)
    items = items[np.argsort(-row[items], kind="stable")]
    return items, graded[items].astype(np.float64)


def mir_map(sim: np.ndarray, rel: np.ndarray) -> float:
    """EPIC-100 MIR mean average precision (the official EPIC / JPoSE definition), a fraction in [0, 1].

    sim, rel [Q, N]. Per query row, items ranked by sim (ties: lower item index first); an item is *relevant*
    when rel == 1 exactly, but the precision at rank k is the cumulative sum of the graded relevancies up to k
    divided by k: AP = sum_k [rel_k == 1] * (sum_{j<=k} rel_j) / k / #{rel == 1}. mAP = mean over query rows.
    A row with no item of relevancy 1 has no defined AP (upstream divides by zero and returns NaN); such rows are
    left out of the mean, and NaN is returned when no row has a relevant item.
    """
    ap = []
    for row, values, graded in zip(np.asarray(sim), _sorted_rows(sim, rel), np.asarray(rel), strict=False):
        items, g = _by_rank(row, graded)
        hit = g == 1
        if hit.any():  # cumulative graded relevancy at each hit over its rank among all items
            ap.append(float((np.cumsum(g)[hit] / _rank(row, values, items[hit])).sum() / hit.sum()))
    return float(np.mean(ap)) if ap else float("nan")


def mir_ndcg(sim: np.ndarray, rel: np.ndarray) -> float:
    """EPIC-100 MIR normalised discounted cumulative gain, a fraction in [0, 1].

    sim, rel [Q, N]. Per query i, k_i = its number of non-zero relevancies; DCG_i = sum over the first k_i ranks
    of rel / log2(rank + 1) (ranks from 1; ties: lower item index first), IDCG_i the same over rel sorted
    descending; nDCG = mean DCG / IDCG. A row of all-zero relevancy (k_i = 0, IDCG = 0, NaN upstream) is left out
    of the mean; NaN when all rows are.
    """
    out = []
    for row, values, graded in zip(np.asarray(sim), _sorted_rows(sim, rel), np.asarray(rel), strict=False):
        items, g = _by_rank(row, graded)
        k = len(items)
        if not k:
            continue
        top = row[items] >= values[-k]  # candidates for the first k ranks (the k-th largest value and above)
        rank = _rank(row, values, items[top])
        within = rank <= k
        dcg = (g[top][within] / np.log2(rank[within] + 1)).sum()
        idcg = (-np.sort(-g) / np.log2(np.arange(2, k + 2))).sum()
        out.append(dcg / idcg)
    return float(np.mean(out)) if out else float("nan")


def dual_softmax(text: np.ndarray, video: np.ndarray, divisor: float = 500.0) -> np.ndarray:
    """Upstream's dual-softmax similarity (EgoVLP / HierVL / CF test_epic.py), [videos x texts].

    text [T, P], video [V, P] as they are (upstream does not normalise them): D = text @ video.T [T, V];
    D <- softmax over videos (axis 1) of D / divisor, times D; then softmax over texts (axis 0); transposed.
    """
    d = np.asarray(text, np.float64) @ np.asarray(video, np.float64).T  # [T, V]
    z = d / divisor
    prior = np.exp(z - z.max(axis=1, keepdims=True))
    prior /= prior.sum(axis=1, keepdims=True)
    d = prior * d
    out = np.exp(d - d.max(axis=0, keepdims=True))
    out /= out.sum(axis=0, keepdims=True)
    return out.T


def jpose_relevancy(
    video_verbs: np.ndarray, video_nouns: list, text_verbs: np.ndarray, text_nouns: list
) -> np.ndarray:
    """JPoSE relevancy [videos x texts] (float32): 1/2 [same verb class] + 1/2 IoU(noun-class sets).

    video_verbs [V] and text_verbs [T] verb classes; video_nouns / text_nouns: one iterable of noun classes each.
    """
    video_verbs, text_verbs = np.asarray(video_verbs), np.asarray(text_verbs)
    classes = sorted({int(c) for nouns in (*video_nouns, *text_nouns) for c in nouns})
    column = {c: i for i, c in enumerate(classes)}

    def multi_hot(rows) -> sparse.csr_matrix:  # clips have one or two nouns: sparse products are cheap
        cols = [column[int(c)] for nouns in rows for c in set(nouns)]
        ptr = np.cumsum([0] + [len(set(nouns)) for nouns in rows])
        return sparse.csr_matrix(
            (np.ones(len(cols), np.float32), cols, ptr), shape=(len(rows), max(len(classes), 1))
        )

    hv, ht = multi_hot(video_nouns), multi_hot(text_nouns)  # [V, C], [T, C]
    inter = (hv @ ht.T).toarray()  # [V, T] shared noun classes (exact small integers)
    union = np.asarray(hv.sum(1)) + np.asarray(ht.sum(1)).T - inter
    np.divide(inter, union, out=inter, where=union > 0)  # IoU, in place (0 where both sets are empty)
    inter *= 0.5
    inter += 0.5 * (video_verbs[:, None] == text_verbs[None, :])
    return inter  # float32: every value is a multiple of 1/2 plus half an IoU, and 1 stays exactly 1


def charades_class_ap(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-class average precision [C] of the Charades "approximate" mAP; NaN for a class without positives.

    scores [N, C], targets [N, C] multi-hot. Videos without any label are scored -inf for every class (as the
    official script does); per class, videos sorted by score (ties: lower index first), AP = mean precision at
    each positive.
    """
    scores = np.array(scores, dtype=np.float64)
    targets = np.asarray(targets)
    assert scores.shape == targets.shape and scores.ndim == 2, "scores and targets [N, C]"
    scores[targets.sum(axis=1) == 0] = -np.inf
    order = np.argsort(-scores, axis=0, kind="stable")  # [N, C]
    tp = np.take_along_axis(targets, order, axis=0) == 1  # [N, C]
    n_pos = tp.sum(axis=0)  # [C]
    precision = np.cumsum(tp, axis=0) / np.arange(1, len(tp) + 1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (precision * tp).sum(axis=0) / n_pos
    return np.where(n_pos > 0, ap, np.nan)


def charades_map(scores: np.ndarray, targets: np.ndarray) -> float:
    """Charades-Ego mAP, a fraction in [0, 1]: the mean of `charades_class_ap` over the classes that have a
    positive. Upstream averages the NaN of a positive-less class in and reports NaN; here such classes are left
    out, and the evaluation reports which ones they were (see `charades_class_ap`). NaN when no class has one."""
    ap = charades_class_ap(scores, targets)
    return float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan")
