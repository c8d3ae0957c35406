"""Metrics: hand-worked cases, numbers in the comments."""

import math

import numpy as np
import pytest

from egoflow.metrics import binomial_interval, mcq_accuracy


def test_mcq_accuracy_per_type():
    # Four questions of 3 choices; predictions (argmax) 0, 2, 1, 1; answers 0, 1, 1, 2.
    # Type 1 (inter): questions 0 and 1 -> right, wrong -> 1/2. Type 2 (intra): 2 and 3 -> right, wrong -> 1/2.
    scores = np.array([[0.9, 0.1, 0.0], [0.1, 0.2, 0.7], [0.0, 0.5, 0.4], [0.3, 0.6, 0.1]])
    answers = np.array([0, 1, 1, 2])
    assert mcq_accuracy(scores, answers, np.array([1, 1, 2, 2])) == {"inter": 0.5, "intra": 0.5}
    # All inter: 2 of 4.
    assert mcq_accuracy(scores, answers, np.array([1, 1, 1, 1])) == {"inter": 0.5}
    # SummaryMCQ (types 3) has its own name.
    assert mcq_accuracy(scores[:1], answers[:1], np.array([3])) == {"summary": 1.0}


def test_mcq_ties_go_to_the_first_choice():
    # argmax of [0.5, 0.5] is 0: right when the answer is 0, wrong when it is 1.
    scores = np.array([[0.5, 0.5], [0.5, 0.5]])
    assert mcq_accuracy(scores, np.array([0, 1]), np.array([1, 1])) == {"inter": 0.5}


def test_wilson_interval():
    # p = 0.5, n = 100, z = 1.96: centre 0.5, half-width 1.96 * sqrt(0.25/100 + 1.96^2/40000) / (1 + 1.96^2/100)
    # = 1.96 * sqrt(0.0025 + 0.00009604) / 1.038416 = 1.96 * 0.050951 / 1.038416 = 0.096170.
    low, high = binomial_interval(50, 100)
    assert low == pytest.approx(0.5 - 0.096170, abs=1e-5) and high == pytest.approx(0.5 + 0.096170, abs=1e-5)
    # 0 of 10: the interval starts at 0 and still has width (z^2 / (n + z^2) = 3.8415 / 13.8415 = 0.27753).
    low, high = binomial_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.27753, abs=1e-5)
    assert all(math.isnan(v) for v in binomial_interval(0, 0))
