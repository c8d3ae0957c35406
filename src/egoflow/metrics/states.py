"""Object-state metrics of ChangeIt (soCzech/MultiTaskObjectStates method/utils.py `JointMeter`): state and action
precision@1 of one video, and the per-category-then-over-categories average the paper reports.

Labels are ChangeIt's per-second ids: 0 background, 1 initial state, 2 action, 3 end state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "action_precision_at_1",
    "best_state_pair",
    "category_mean",
    "state_precision_at_1",
]


def _series(name: str, values, length: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if length is not None and len(array) != length:
        raise ValueError(f"{name} has {len(array)} values for {length} labelled seconds")
    if len(array) == 0:
        raise ValueError(f"{name} is empty")
    return array


def best_state_pair(p_initial, p_end) -> tuple[int, int]:
    """The pair i < j maximising p_initial[i] * p_end[j]; among equal products the smallest (i, j), as upstream's
    double loop with a strict `>` finds it. A one-second video gives (0, 0), as upstream does."""
    p1, p2 = _series("p_initial", p_initial), _series("p_end", p_end, len(np.asarray(p_initial).reshape(-1)))
    t = len(p1)
    if t == 1:
        return 0, 0
    # For each j, the best i < j is the running maximum of p1 (leftmost: the latest strict record).
    running = np.maximum.accumulate(p1)[:-1]  # [T - 1]: max of p1[: j], j = 1..T-1
    record = np.concatenate([[True], p1[1:-1] > running[:-1]])
    at = np.maximum.accumulate(np.where(record, np.arange(t - 1), 0))
    score = running * p2[1:]
    best = score.max()
    if best == 0.0:
        return 0, 1
    tied = np.flatnonzero(score == best)
    k = tied[np.argmin(at[tied])]  # smallest i, then smallest j
    return int(at[k]), int(k + 1)


def state_precision_at_1(p_initial, p_end, labels) -> float:
    """0.5 * [labels[i] == 1] + 0.5 * [labels[j] == 3] for the best pair i < j of best_state_pair."""
    labels = np.asarray(labels).reshape(-1)
    _series("p_initial", p_initial, len(labels))
    _series("p_end", p_end, len(labels))
    i, j = best_state_pair(p_initial, p_end)
    return 0.5 * float(labels[i] == 1) + 0.5 * float(labels[j] == 3)


def action_precision_at_1(p_action, labels) -> float:
    """1 when the most probable action second (the first of equals) is labelled action (2), else 0."""
    labels = np.asarray(labels).reshape(-1)
    scores = _series("p_action", p_action, len(labels))
    return float(labels[int(np.argmax(scores))] == 2)


def category_mean(values: Sequence[float], categories: Sequence[str]) -> float:
    """Mean over the videos of each category, then over the categories (each category counts once)."""
    values, categories = np.asarray(values, dtype=np.float64), np.asarray(categories)
    if len(values) != len(categories):
        raise ValueError(f"{len(values)} values for {len(categories)} categories")
    if len(values) == 0:
        return float("nan")
    return float(np.mean([values[categories == c].mean() for c in np.unique(categories)]))
