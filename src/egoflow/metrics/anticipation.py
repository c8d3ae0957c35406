"""Action anticipation metrics: class-mean recall@k, score marginalisation, Ego4D LTA edit distance.

Definitions (sgear-anticipation.md §5.2, object-states-lta-carl.md B.5):
- `topk_accuracy`: mean over samples of 1[y in top-k(s)] (RULSTM `topk_accuracy`).
- `class_mean_recall`: RULSTM `topk_recall` ("MT5R"): for every class present in `labels`, the fraction of its
  samples whose top-k holds it; the mean over those classes. Reported x100 by the callers.
- `marginalize_action_scores`: p = softmax(action logits); verb[v] = sum of p over actions of verb v (AVT/S-GEAR:
  a verb without actions gets 0).
- `lta_edit_distance`: Ego4D `edit_distance`: per sample, the minimum over K sequences of Levenshtein(pred, gt)/Z;
  mean over samples (plain Levenshtein, as the `editdistance` package the reference calls).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "action_tokens",
    "class_mean_recall",
    "levenshtein",
    "lta_edit_distance",
    "marginalize_action_scores",
    "softmax",
    "topk_accuracy",
]


def _topk(scores: np.ndarray, k: int) -> np.ndarray:
    """[N, k] indices of the k largest scores per row (ties: the lower index first, as a stable argsort)."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if scores.ndim != 2 or labels.shape != (scores.shape[0],):
        raise ValueError(f"expected scores [N, C] and labels [N], got {scores.shape} and {labels.shape}")
    return scores, labels


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of samples whose label is among their k best-scored classes (nan when there are none)."""
    scores, labels = _check(scores, labels)
    if not len(labels):
        return float("nan")
    hit = (_topk(scores, k) == labels[:, None]).any(1)
    return float(hit.mean())


def class_mean_recall(scores: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Mean over the classes present in `labels` of each class's top-k hit rate (nan when there are none)."""
    scores, labels = _check(scores, labels)
    if not len(labels):
        return float("nan")
    hit = (_topk(scores, k) == labels[:, None]).any(1).astype(np.float64)  # [N]
    classes = np.unique(labels)
    return float(np.mean([hit[labels == c].mean() for c in classes]))


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def marginalize_action_scores(
    action_scores: np.ndarray,
    action_verb: np.ndarray,
    action_noun: np.ndarray,
    num_verbs: int | None = None,
    num_nouns: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Action logits [N, A] -> (verb probabilities [N, V], noun probabilities [N, Nn]); each row sums to 1."""
    p = softmax(action_scores, axis=1)  # [N, A]
    action_verb, action_noun = np.asarray(action_verb, np.int64), np.asarray(action_noun, np.int64)
    if action_verb.shape != (p.shape[1],) or action_noun.shape != (p.shape[1],):
        raise ValueError(f"action_verb / action_noun must have {p.shape[1]} entries")
    num_verbs = int(action_verb.max()) + 1 if num_verbs is None else num_verbs
    num_nouns = int(action_noun.max()) + 1 if num_nouns is None else num_nouns
    verb = np.zeros((p.shape[0], num_verbs))
    noun = np.zeros((p.shape[0], num_nouns))
    np.add.at(verb.T, action_verb, p.T)  # verb[:, v] += p[:, a] for every action a of verb v
    np.add.at(noun.T, action_noun, p.T)
    return verb, noun


def levenshtein(a, b) -> int:
    """Insert / delete / substitute distance between two sequences (no transpositions)."""
    a, b = list(a), list(b)
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def lta_edit_distance(preds: np.ndarray, labels: np.ndarray) -> float:
    """preds [N, K, Z], labels [N, Z] -> mean over samples of min over K of Levenshtein / Z."""
    preds, labels = np.asarray(preds), np.asarray(labels)
    if preds.ndim != 3 or labels.ndim != 2 or preds.shape[0] != labels.shape[0]:
        raise ValueError(f"expected preds [N, K, Z] and labels [N, Z], got {preds.shape} and {labels.shape}")
    z = labels.shape[1]
    if not len(labels):
        return float("nan")
    per_sample = [
        min(levenshtein(p[:z], gt) for p in sample) / z
        for sample, gt in zip(preds.tolist(), labels.tolist(), strict=True)
    ]
    return float(np.mean(per_sample))


def action_tokens(verbs: np.ndarray, nouns: np.ndarray, num_nouns: int) -> np.ndarray:
    """One id per (verb, noun) step: verb * num_nouns + noun, so a step matches only if both do."""
    return np.asarray(verbs, np.int64) * num_nouns + np.asarray(nouns, np.int64)
