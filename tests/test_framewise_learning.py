"""Learning claim on the wide demo world: every frame-wise metric of the CARL encoder beats its chance baseline
(random embeddings of the same size; majority-class segmentation), printed side by side with sample sizes and
95 % intervals, and the margin exceeds the intervals.

Intervals: Wilson over test frames for accuracies; a normal interval over test videos (per-video means) for
Kendall's tau, retrieval mAP and Edit; a bootstrap over test videos (500 resamples) for progression R² and F1.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from egoflow.framewise.features import FrameFeatures
from egoflow.framewise.protocols import random_like
from egoflow.metrics import binomial_interval, frame_retrieval_ap, kendalls_tau, segmentation_scores
from egoflow.metrics.framewise import progression_targets
from tests.workflow_run import snakemake, wide_run

pytestmark = pytest.mark.slow

TARGETS = ["results/framewise/phases/carl.json", "results/framewise/segmentation/carl.json"]


def normal_interval(values) -> tuple[float, float, float]:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    half = 1.959964 * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def per_video_tau(embs, stride):
    return [
        np.nanmean([kendalls_tau([a, b], stride) for j, b in enumerate(embs) if j != i])
        for i, a in enumerate(embs)
    ]


def per_video_ap(embs, labels, k):
    ids = np.concatenate([np.full(len(e), n) for n, e in enumerate(embs)])
    aps = frame_retrieval_ap(np.concatenate(embs), np.concatenate(labels), ids, k)
    return [aps[ids == n].mean() for n in range(len(embs))]


def progression_bootstrap(train_e, train_y, test_e, test_y, rng, n=500):
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    classes = sorted(set(np.concatenate(train_y).tolist()))[:-1]
    y_tr = np.concatenate([progression_targets(y, classes) for y in train_y])
    x_tr = np.concatenate(train_e)
    targets = [progression_targets(y, classes) for y in test_y]
    regs = [
        LinearRegression().fit(x_tr[~np.isnan(y_tr[:, c])], y_tr[~np.isnan(y_tr[:, c]), c])
        for c in range(len(classes))
    ]
    preds = [np.stack([r.predict(e) for r in regs], 1) for e in test_e]

    def score(idx):
        p, t = np.concatenate([preds[i] for i in idx]), np.concatenate([targets[i] for i in idx])
        return np.mean(
            [r2_score(t[~np.isnan(t[:, c]), c], p[~np.isnan(t[:, c]), c]) for c in range(len(classes))]
        )

    full = score(range(len(test_e)))
    boot = [score(rng.integers(0, len(test_e), len(test_e))) for _ in range(n)]
    return float(full), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def show(name, n, ours, chance):
    print(
        f"{name:28s} n={n:5d}  carl {ours[0]:.3f} [{ours[1]:.3f}, {ours[2]:.3f}]   "
        f"chance {chance[0]:.3f} [{chance[1]:.3f}, {chance[2]:.3f}]"
    )
    assert ours[1] > chance[2], f"{name}: {ours} not clearly above chance {chance}"


def test_carl_and_asformer_beat_chance_on_the_wide_world(tmp_path_factory):
    workdir, overlay = wide_run(tmp_path_factory)
    snakemake(workdir, *TARGETS, "--configfile", overlay)
    phases = json.loads((workdir / TARGETS[0]).read_text())
    m, base = phases["metrics"], phases["baseline"]["random_embeddings"]
    n_frames = int(m["n_test_frames"])
    print()
    for key in ("classification_accuracy@10", "classification_accuracy@100"):
        ours = (m[key], *binomial_interval(round(m[key] * n_frames), n_frames))
        chance = (base[key], *binomial_interval(round(base[key] * n_frames), n_frames))
        show(key, n_frames, ours, chance)

    feats = workdir / "results/framewise/features/carl"
    tr = FrameFeatures(feats / "phases_train.h5")
    te, va = FrameFeatures(feats / "phases_test.h5"), FrameFeatures(feats / "phases_val.h5")
    test_e, test_y = te.embeddings + va.embeddings, te.labels + va.labels
    rand_tr, rand_te = random_like(tr.embeddings, 0), random_like(test_e, 1)
    rng = np.random.default_rng(0)
    show(
        "progression_r2",
        len(test_e),
        progression_bootstrap(tr.embeddings, tr.labels, test_e, test_y, rng),
        progression_bootstrap(rand_tr, tr.labels, rand_te, test_y, rng),
    )
    show(
        "kendalls_tau",
        len(test_e),
        normal_interval(per_video_tau(test_e, 5)),
        normal_interval(per_video_tau(rand_te, 5)),
    )
    show(
        "retrieval_map@10",
        len(test_e),
        normal_interval(per_video_ap(test_e, test_y, 10)),
        normal_interval(per_video_ap(rand_te, test_y, 10)),
    )

    seg = json.loads((workdir / TARGETS[1]).read_text())
    preds = json.loads((workdir / "results/framewise/segmentation/carl/predictions.json").read_text())
    gtea = FrameFeatures(feats / "gtea.h5")
    by_id = {v: k for k, v in enumerate(gtea.video_ids)}
    from egoflow.annotations.gtea import read_gtea

    data = read_gtea(workdir / "resources/demo/wide/annotations/gtea")
    names = dict(zip(data.mapping["id"], data.mapping["name"], strict=True))
    gts = {v: [names[int(i)] for i in gtea.labels[by_id[v]]] for v in preds}
    train_labels = np.concatenate([gtea.labels[by_id[v]] for v in data.splits["train.split1"]])
    vals, counts = np.unique(train_labels, return_counts=True)
    major = names[int(vals[counts.argmax()])]
    majority = {v: [major] * len(g) for v, g in gts.items()}
    videos = list(preds)
    n = sum(len(g) for g in gts.values())
    for key in ("acc",):
        ours, chance = seg["metrics"][key] / 100, seg["baseline"]["majority"][key] / 100
        show(
            "segmentation_acc",
            n,
            (ours, *binomial_interval(round(ours * n), n)),
            (chance, *binomial_interval(round(chance * n), n)),
        )

    def edit(p):
        return [segmentation_scores([p[v]], [gts[v]])["edit"] for v in videos]

    show("segmentation_edit", len(videos), normal_interval(edit(preds)), normal_interval(edit(majority)))

    def f1_boot(p):
        full = segmentation_scores([p[v] for v in videos], [gts[v] for v in videos])["f1@10"]
        boot = []
        for _ in range(200):
            idx = rng.integers(0, len(videos), len(videos))
            boot.append(
                segmentation_scores([p[videos[i]] for i in idx], [gts[videos[i]] for i in idx])["f1@10"]
            )
        return full, float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))

    show("segmentation_f1@10", len(videos), f1_boot(preds), f1_boot(majority))
