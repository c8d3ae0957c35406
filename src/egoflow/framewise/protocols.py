"""The CARL / AE2 evaluation protocols over per-frame embeddings, and their chance baseline.

- phase classification on the first ⌈f·N⌉ training videos for each fraction f (CARL's order), accuracy and
  weighted F1; with views (AE2): regular, ego→exo (train ego, test exo) and exo→ego;
- phase progression (mean R²), Kendall's tau (stride), frame retrieval mAP@k (other videos only).
Frames labelled < 0 are dropped, as upstream. The baseline replaces every embedding by a random Gaussian vector
of the same size (seeded), the chance level each metric is compared against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from egoflow.metrics import frame_retrieval_map, kendalls_tau, phase_classification, phase_progression


@dataclass
class ProtocolConfig:
    fractions: tuple[float, ...] = (0.1, 0.5, 1.0)
    classifier: str = "logistic"  # logistic (CARL) | svm (AE2)
    stride: int = 5  # Kendall's tau frame stride
    k: int = 10  # retrieval mAP@k


def _labelled(embs: Sequence[np.ndarray], labels: Sequence[np.ndarray]):
    keep = [np.asarray(y) >= 0 for y in labels]
    return [np.asarray(e)[m] for e, m in zip(embs, keep, strict=True)], [
        np.asarray(y)[m] for y, m in zip(labels, keep, strict=True)
    ]


def classification(
    train_e, train_y, test_e, test_y, cfg: ProtocolConfig, prefix: str = ""
) -> dict[str, float]:
    out = {}
    for f in cfg.fractions:
        n = max(1, math.ceil(f * len(train_e)))
        scores = phase_classification(
            np.concatenate(train_e[:n]),
            np.concatenate(train_y[:n]),
            np.concatenate(test_e),
            np.concatenate(test_y),
            cfg.classifier,
        )
        tag = f"{prefix}{round(f * 100)}"
        out[f"classification_accuracy@{tag}"] = scores["accuracy"]
        out[f"classification_f1@{tag}"] = scores["f1_weighted"]
    return out


def evaluate_embeddings(
    train_e: Sequence[np.ndarray],
    train_y: Sequence[np.ndarray],
    test_e: Sequence[np.ndarray],
    test_y: Sequence[np.ndarray],
    cfg: ProtocolConfig,
    train_views: Sequence[str] | None = None,
    test_views: Sequence[str] | None = None,
) -> dict[str, float]:
    """Every frame-wise metric: {name: value}; counts of videos and frames under n_*."""
    train_e, train_y = _labelled(train_e, train_y)
    test_e, test_y = _labelled(test_e, test_y)
    out = classification(train_e, train_y, test_e, test_y, cfg)
    if train_views is not None and test_views is not None:
        for src, dst in (("ego", "exo"), ("exo", "ego")):
            tr = [i for i, v in enumerate(train_views) if v == src]
            te = [i for i, v in enumerate(test_views) if v == dst]
            if tr and te:
                out |= classification(
                    [train_e[i] for i in tr],
                    [train_y[i] for i in tr],
                    [test_e[i] for i in te],
                    [test_y[i] for i in te],
                    ProtocolConfig(fractions=(1.0,), classifier=cfg.classifier),
                    prefix=f"{src}2{dst}_",
                )
    out["progression_r2"] = phase_progression(train_e, train_y, test_e, test_y)
    out["kendalls_tau"] = kendalls_tau(test_e, stride=cfg.stride)
    ids = np.concatenate([np.full(len(e), k) for k, e in enumerate(test_e)])
    out[f"retrieval_map@{cfg.k}"] = frame_retrieval_map(
        np.concatenate(test_e), np.concatenate(test_y), ids, cfg.k
    )
    out["n_train_videos"], out["n_test_videos"] = float(len(train_e)), float(len(test_e))
    out["n_test_frames"] = float(sum(len(e) for e in test_e))
    return out


def random_like(embs: Sequence[np.ndarray], seed: int) -> list[np.ndarray]:
    """The chance baseline: Gaussian vectors of the same shapes."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.shape(e)).astype(np.float32) for e in embs]
