"""Pretraining learns: on the demo world it lifts EgoMCQ accuracy clearly above the same encoder at random
initialisation, evaluated the same way.

The `wide` demo world (120 small videos) holds about 300 EgoMCQ questions on its held-out videos, so a 95 %
interval is about +-6 points; the claim is that the two intervals do not even touch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from egoflow.metrics import binomial_interval
from tests.workflow_run import snakemake, wide_run

pytestmark = pytest.mark.slow

# The demo's own pretraining settings (config/config.yaml): the trained run and its random-init twin.
RUNS = ("demo", "demo-random-init")


def pooled(result: dict) -> tuple[float, int, tuple[float, float]]:
    """Accuracy over every question (inter + intra), its count and Wilson 95 % interval, in percent."""
    n = sum(result["n"].values())
    right = sum(round(result["metrics"][f"{k}_accuracy"] * result["n"][k] / 100) for k in result["n"])
    low, high = binomial_interval(right, n)
    return 100 * right / n, n, (100 * low, 100 * high)


def test_pretraining_beats_random_initialisation_on_egomcq(tmp_path_factory):
    workdir, overlay = wide_run(tmp_path_factory)
    targets = [f"results/evaluate/{run}/egomcq.json" for run in RUNS]
    snakemake(workdir, *targets, "--configfile", overlay, timeout=3600)
    trained, baseline = (json.loads((workdir / t).read_text()) for t in targets)
    (acc, n, (lo, hi)), (acc0, n0, (lo0, hi0)) = pooled(trained), pooled(baseline)
    print(f"EgoMCQ on {n} questions: pretrained {acc:.1f} % [{lo:.1f}, {hi:.1f}], ", end="")
    print(f"random init {acc0:.1f} % [{lo0:.1f}, {hi0:.1f}] (95 % Wilson intervals); chance 20 %")
    for name in trained["metrics"]:
        print(f"  {name}: {trained['metrics'][name]:.1f} vs {baseline['metrics'][name]:.1f}")
    assert n == n0 >= 250
    assert lo > hi0, "pretrained and random-init intervals overlap: no clear lift"
    assert Path(workdir / "results/pretrain/demo/log.csv").read_text().count("\n") > 2
