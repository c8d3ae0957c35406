"""Multiple-choice accuracy (EgoMCQ, SummaryMCQ) and the Wilson interval printed beside every accuracy."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MCQ_TYPE_NAMES", "binomial_interval", "mcq_accuracy"]

MCQ_TYPE_NAMES = {1: "inter", 2: "intra", 3: "summary"}  # EgoMCQ types 1/2 (EgoVLP), SummaryMCQ 3 (HierVL)


def mcq_accuracy(scores: np.ndarray, answers: np.ndarray, types: np.ndarray) -> dict[str, float]:
    """Accuracy of multiple-choice questions per question type.

    scores [Q, C]: similarity of each question's query to each of its C choices; the prediction is the argmax
    (first on ties). answers [Q]: index of the right choice. types [Q]: 1 inter-video, 2 intra-video (EgoMCQ;
    the CF code's order, fixing EgoVLP's swapped labels), 3 SummaryMCQ. Returns {"inter": a, "intra": b, ...} as
    fractions in [0, 1], one key per type present.
    """
    scores, answers, types = np.asarray(scores), np.asarray(answers), np.asarray(types)
    assert scores.ndim == 2 and len(scores) == len(answers) == len(types), (
        "scores [Q, C], answers [Q], types [Q]"
    )
    correct = scores.argmax(axis=1) == answers  # [Q]
    out = {}
    for code in sorted(set(types.tolist())):
        name = MCQ_TYPE_NAMES.get(int(code), f"type{int(code)}")
        out[name] = float(correct[types == code].mean())
    return out


def binomial_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson 95 % interval of a proportion (what tests and reports print beside an accuracy)."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)
