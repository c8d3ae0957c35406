"""The ordering constraint of ChangeIt pseudo-labelling (object-states digest A.4), in O(T) on the CPU.

Upstream's CUDA kernel scans every (s1, a, s2) of a video, O(T * D^2), one thread per s1, so it stops at 1,024
frames. The same argmax factorises: for each action frame a, the best initial state is the maximum of p_initial
over [a - D, a - 1] and the best end state the maximum of p_end over [a + 1, a + D], both running-window maxima
(van Herk / Gil-Werman: per-block prefix and suffix maxima, two numpy scans), so any length works.
"""

from __future__ import annotations

import numpy as np

DEFAULT_MAX_GAP = 500  # frames (= seconds at 1 fps), upstream's max_action_state_distance


def _as_probabilities(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return array


def window_argmax(values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """For every i, the maximum of values[i : i + width] and its leftmost index: float64 [n], int64 [n].

    Windows past the end are cut short. Blocks of `width`: a window starting at i covers the suffix of its own
    block and a prefix of the next one, so its maximum is max(suffix[i], prefix[i + width - 1]).
    """
    n = len(values)
    blocks = -(-n // width)
    padded = np.full(blocks * width + width, -np.inf)  # one spare block: windows past the end
    padded[:n] = values
    grid = padded.reshape(-1, width)  # [blocks + 1, width]
    index = np.arange(grid.size).reshape(grid.shape)
    # Prefix maxima; leftmost argmax = the latest strict record so far.
    prefix = np.maximum.accumulate(grid, axis=1)
    before = np.concatenate([np.full((grid.shape[0], 1), -np.inf), prefix[:, :-1]], axis=1)
    prefix_at = np.maximum.accumulate(np.where(grid > before, index, index[:, :1]), axis=1)
    # Suffix maxima; leftmost argmax = the nearest position at or after i that is >= everything after it.
    suffix = np.maximum.accumulate(grid[:, ::-1], axis=1)[:, ::-1]
    after = np.concatenate([suffix[:, 1:], np.full((grid.shape[0], 1), -np.inf)], axis=1)
    big = np.iinfo(np.int64).max
    suffix_at = np.minimum.accumulate(np.where(grid >= after, index, big)[:, ::-1], axis=1)[:, ::-1]
    prefix, prefix_at, suffix, suffix_at = (a.reshape(-1) for a in (prefix, prefix_at, suffix, suffix_at))
    start = np.arange(n)
    end = start + width - 1
    left = suffix[start] >= prefix[end]  # ties go to the left part: leftmost maximum
    best = np.where(left, suffix[start], prefix[end])
    at = np.where(left, suffix_at[start], prefix_at[end])
    return best, at.astype(np.int64)


def ordering_constraint(p_initial, p_action, p_end, max_gap: int | None = DEFAULT_MAX_GAP):
    """The triplet s1 < a < s2 maximising p_initial[s1] * p_action[a] * p_end[s2], with a - s1 <= max_gap and
    s2 - a <= max_gap (None: no limit) -> (s1, a, s2, score).

    The score is computed in that order, in float64. Among equal scores the lexicographically smallest (s1, a,
    s2) wins, as in upstream's kernel (first maximum over s1, then over a, then over s2). Raises ValueError for
    fewer than 3 frames (no triplet exists), unequal lengths or negative / non-finite values.
    """
    p1, pa, p2 = (_as_probabilities(n, v) for n, v in (("p_initial", p_initial), ("p_action", p_action),
                                                         ("p_end", p_end)))  # fmt: skip
    t = len(p1)
    if not (len(pa) == len(p2) == t):
        raise ValueError(f"lengths differ: p_initial {t}, p_action {len(pa)}, p_end {len(p2)}")
    if t < 3:
        raise ValueError(f"the ordering constraint needs at least 3 frames, got {t}")
    gap = t if max_gap is None else int(max_gap)
    if gap < 1:
        raise ValueError(f"max_gap must be >= 1, got {max_gap}")
    gap = min(gap, t)
    # Initial state for a: window [a - gap, a - 1]; pad gap frames of -inf on the left so every window is whole.
    m1, at1 = window_argmax(np.concatenate([np.full(gap, -np.inf), p1]), gap)
    m1, at1 = m1[: t + 1], at1[: t + 1] - gap  # entry a = window ending at a - 1
    m2, at2 = window_argmax(p2, gap)  # entry i = window [i, i + gap - 1]
    actions = np.arange(1, t - 1)  # a needs a frame on each side
    left, right = m1[actions], m2[actions + 1]
    score = left * pa[actions] * right  # [T - 2]
    best = score.max()
    if best == 0.0:  # every triplet scores 0: the first one wins
        return 0, 1, 2, 0.0
    tied = np.flatnonzero(score == best)
    s1 = at1[actions[tied]]
    k = tied[np.argmin(s1)]  # smallest s1, then (argmin keeps the first) smallest a
    a = int(actions[k])
    return int(at1[a]), a, int(at2[a + 1]), float(best)


def exhaustive_ordering(p_initial, p_action, p_end, max_gap: int | None = DEFAULT_MAX_GAP):
    """The same argmax by scanning every triplet, O(T * D^2): the reference of the tests and the benchmark."""
    p1, pa, p2 = (np.asarray(v, dtype=np.float64) for v in (p_initial, p_action, p_end))
    t = len(p1)
    gap = t if max_gap is None else int(max_gap)
    best, arg = -np.inf, None
    for s1 in range(t):
        for a in range(s1 + 1, min(t, s1 + gap + 1)):
            for s2 in range(a + 1, min(t, a + gap + 1)):
                value = p1[s1] * pa[a] * p2[s2]
                if value > best:
                    best, arg = value, (s1, a, s2)
    if arg is None:
        raise ValueError(f"the ordering constraint needs at least 3 frames, got {t}")
    return (*arg, float(best))
