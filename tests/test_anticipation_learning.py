"""Learning claims of the anticipation stage on the wide demo world (features store, small models, CPU):

- S-GEAR (features variant) beats the frequency prior on action class-mean recall@5 over the validation
  samples: both numbers, n, 95 % bootstrap intervals, and the paired bootstrap interval of the difference
  (which must exclude 0);
- the semantic loss changes the result (the run with weight 0 scores differently);
- LTA beats "repeat the most frequent future sequence" on action ED@Z (lower is better), paired interval.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from egoflow.anticipation.evaluation import bootstrap_interval, frequency_prior
from egoflow.features.language_prototypes import read_language_prototypes
from egoflow.metrics import class_mean_recall
from tests.workflow_run import snakemake, wide_run

pytestmark = pytest.mark.slow


def _mt5r(scores, labels):
    return 100 * class_mean_recall(scores, labels, 5)


def test_sgear_beats_the_frequency_prior_and_lta_the_most_frequent_sequence(tmp_path_factory):
    workdir, overlay = wide_run(tmp_path_factory)
    targets = [
        "results/anticipation/sgear/demo/scores.npz",
        "results/anticipation/sgear/demo-nosem/scores.npz",
        "results/anticipation/lta/demo/validation.json",
    ]
    snakemake(workdir, *targets, "--configfile", overlay, timeout=3000)
    results = workdir / "results/anticipation"
    full = np.load(results / "sgear/demo/scores.npz")
    ablation = np.load(results / "sgear/demo-nosem/scores.npz")
    labels = full["action"]
    keep = labels >= 0
    # the prior the test computes itself: training counts of each action (ids from the language table)
    language = read_language_prototypes(workdir / "results/features/language_prototypes/epic.h5")
    ids = {
        (v, n): a
        for a, v, n in zip(language["action_id"], language["verb_class"], language["noun_class"], strict=True)
    }
    train = pd.read_csv(workdir / "resources/demo/wide/annotations/epic-kitchens-100/EPIC_100_train.csv")
    train_ids = np.array(
        [ids.get((v, n), -1) for v, n in zip(train["verb_class"], train["noun_class"], strict=True)]
    )
    prior = np.tile(frequency_prior(train_ids, len(language["action_id"])), (len(labels), 1))
    s, a, p, y = full["scores_action"][keep], ablation["scores_action"][keep], prior[keep], labels[keep]
    model, base, nosem = _mt5r(s, y), _mt5r(p, y), _mt5r(a, y)
    ci = {
        name: bootstrap_interval(_mt5r, [x, y], 500) for name, x in (("sgear", s), ("prior", p), ("nosem", a))
    }
    diff = bootstrap_interval(lambda x, q, t: _mt5r(x, t) - _mt5r(q, t), [s, p, y], 500)
    print(
        f"\naction class-mean recall@5 on {len(y)} validation samples ({len(np.unique(y))} classes):\n"
        f"  S-GEAR (sem 4)     {model:6.2f}  95% CI [{ci['sgear'][0]:.2f}, {ci['sgear'][1]:.2f}]\n"
        f"  S-GEAR (sem 0)     {nosem:6.2f}  95% CI [{ci['nosem'][0]:.2f}, {ci['nosem'][1]:.2f}]\n"
        f"  frequency prior    {base:6.2f}  95% CI [{ci['prior'][0]:.2f}, {ci['prior'][1]:.2f}]\n"
        f"  S-GEAR - prior     {model - base:6.2f}  paired 95% CI [{diff[0]:.2f}, {diff[1]:.2f}]"
    )
    assert diff[0] > 0, "S-GEAR does not beat the frequency prior beyond the interval"
    # the semantic loss changes what is learnt: different scores, different recall
    assert not np.allclose(s, a) and model != nosem

    row = json.loads((results / "lta/demo/validation.json").read_text())
    name = next(k for k in row["metrics"] if k.startswith("action/ED@"))
    ed, ed_base = row["metrics"][name], row["baseline"]["metrics"][name]
    gap = row["paired_difference_ci95"][name]
    print(
        f"LTA {name} on {row['n']['windows']} validation windows (lower is better):\n"
        f"  LTA                          {ed:.3f}  95% CI {np.round(row['ci95'][name], 3).tolist()}\n"
        f"  most frequent future seq.    {ed_base:.3f}  95% CI {np.round(row['baseline']['ci95'][name], 3).tolist()}\n"
        f"  baseline - LTA               {ed_base - ed:.3f}  paired 95% CI {np.round(gap, 3).tolist()}"
    )
    assert gap[0] > 0, "LTA does not beat the most-frequent-sequence baseline beyond the interval"
