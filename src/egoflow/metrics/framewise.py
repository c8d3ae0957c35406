"""Frame-wise representation metrics (CARL, AE2): phase classification, progression, Kendall's tau, retrieval.

Embeddings are per-frame vectors; videos are lists of (T_i, D) arrays with (T_i,) integer phase labels. Which
videos form train / test (fractions, ego / exo views, test ∪ val) is the protocol's business
(`egoflow.framewise.protocols`); these functions only score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "phase_classification",
    "phase_progression",
    "progression_targets",
    "kendalls_tau",
    "frame_retrieval_map",
    "frame_retrieval_ap",
]


def phase_classification(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    classifier: str = "logistic",
) -> dict[str, float]:
    """Fit on train frames, score test frames: {"accuracy", "f1_weighted"} (fractions in [0, 1]).

    classifier: "logistic" (CARL: multinomial lbfgs logistic regression) or "svm" (AE2: RBF SVC, C = 1, ovo)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.svm import SVC

    if classifier == "logistic":
        model = LogisticRegression(max_iter=100_000)
    elif classifier == "svm":
        model = SVC(decision_function_shape="ovo")
    else:
        raise ValueError(f"phase_classification: classifier {classifier!r} is not logistic or svm")
    train_y = np.asarray(train_y)
    if len(np.unique(train_y)) < 2:
        # One class only (a tiny fraction of the training videos): every frame gets that class.
        pred = np.full(len(test_y), train_y[0])
    else:
        pred = model.fit(np.asarray(train_x), train_y).predict(np.asarray(test_x))
    return {
        "accuracy": float(accuracy_score(test_y, pred)),
        "f1_weighted": float(f1_score(test_y, pred, average="weighted", zero_division=0)),
    }


def progression_targets(labels: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """(T, len(classes)) targets: (t - last frame of phase c) / T; NaN where phase c is absent from the video."""
    labels = np.asarray(labels)
    t = np.arange(len(labels), dtype=np.float64)
    out = np.full((len(labels), len(classes)), np.nan)
    for k, c in enumerate(classes):
        where = np.flatnonzero(labels == c)
        if len(where):
            out[:, k] = (t - where[-1]) / len(labels)
    return out


def phase_progression(
    train_embs: Sequence[np.ndarray],
    train_labels: Sequence[np.ndarray],
    test_embs: Sequence[np.ndarray],
    test_labels: Sequence[np.ndarray],
) -> float:
    """Mean R² over phases of one linear regression per phase end (all phases but the last one)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    classes = sorted(set(np.concatenate([np.asarray(y) for y in train_labels]).tolist()))[:-1]
    if not classes:
        raise ValueError("phase_progression: the training videos have a single phase")
    x_tr, x_te = np.concatenate(train_embs), np.concatenate(test_embs)
    y_tr = np.concatenate([progression_targets(y, classes) for y in train_labels])
    y_te = np.concatenate([progression_targets(y, classes) for y in test_labels])
    scores = []
    for k in range(len(classes)):
        tr, te = ~np.isnan(y_tr[:, k]), ~np.isnan(y_te[:, k])
        if tr.sum() < 2 or te.sum() < 2:
            continue
        reg = LinearRegression().fit(x_tr[tr], y_tr[tr, k])
        scores.append(r2_score(y_te[te, k], reg.predict(x_te[te])))
    return float(np.mean(scores)) if scores else float("nan")


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T


def kendalls_tau(embeddings: Sequence[np.ndarray], stride: int = 5) -> float:
    """Mean over ordered pairs (i ≠ j) of Kendall's tau between the frame order of video i (every `stride`-th frame)
    and the indices of their nearest neighbours (squared Euclidean) among video j's strided frames; NaNs dropped."""
    from scipy.stats import kendalltau

    taus = []
    for i, a in enumerate(embeddings):
        for j, b in enumerate(embeddings):
            if i == j:
                continue
            q, c = np.asarray(a)[::stride], np.asarray(b)[::stride]
            nn = _sq_dist(q, c).argmin(1)
            taus.append(kendalltau(np.arange(len(q)), nn)[0])
    taus = np.asarray(taus, dtype=np.float64)
    if not len(taus) or np.isnan(taus).all():
        return float("nan")
    return float(np.nanmean(taus))


def frame_retrieval_ap(
    embeddings: np.ndarray, labels: np.ndarray, video_ids: np.ndarray, k: int = 10
) -> np.ndarray:
    """[N] AP@k of every query frame (see `frame_retrieval_map`)."""
    x = np.asarray(embeddings, dtype=np.float64)
    labels, video_ids = np.asarray(labels), np.asarray(video_ids)
    aps = np.zeros(len(x))
    kk = min(k, len(x))
    ranks = np.arange(1, kk + 1)
    for start in range(0, len(x), 1024):  # bounded memory: 1024 query rows at a time
        rows = slice(start, start + 1024)
        d = _sq_dist(x[rows], x)
        d[video_ids[rows, None] == video_ids[None, :]] = np.inf
        top = np.argsort(d, axis=1, kind="stable")[:, :kk]
        valid = np.take_along_axis(d, top, 1) < np.inf
        rel = (labels[top] == labels[rows, None]) & valid
        precision = np.cumsum(rel, 1) / ranks
        n_rel = rel.sum(1)
        aps[rows] = np.where(n_rel > 0, (precision * rel).sum(1) / np.maximum(n_rel, 1), 0.0)
    return aps


def frame_retrieval_map(
    embeddings: np.ndarray, labels: np.ndarray, video_ids: np.ndarray, k: int = 10
) -> float:
    """AE2's mAP@k: each frame queries its k nearest frames (Euclidean) of other videos;
    AP = Σ_{j≤k} P@j · [label_j = label_q] / #same-label among the k (0 if none); mean over all query frames."""
    aps = frame_retrieval_ap(embeddings, labels, video_ids, k)
    return float(aps.mean()) if len(aps) else float("nan")
