"""Temporal action segmentation scores exactly as MS-TCN's evaluation: Acc, Edit, F1@{10,25,50}.

Segments are runs of equal labels, end exclusive, except (as MS-TCN's `get_labels_start_end_time`, whose last
`ends.append(i)` runs after the loop, i = T - 1) the run that ends the video, which ends at its last frame: that
run is one frame shorter in the IoU (`upstream_last_end=False` for the plain exclusive end). Background segments
are removed before Edit and F1 (they never affect Acc). F1 matches
each predicted segment greedily (in temporal order) to the ground-truth segment of the same label with the highest
IoU; it is a true positive only if that IoU reaches the threshold and that segment is not already hit (MS-TCN does
not fall back to the second best). TP / FP / FN are summed over all videos of the split, then F1 is taken once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

__all__ = ["segments", "edit_score", "f_counts", "segmentation_scores", "OVERLAPS"]

OVERLAPS = (0.10, 0.25, 0.50)


def segments(
    labels: Sequence, bg_class: Collection = (), upstream_last_end: bool = True
) -> tuple[list, np.ndarray, np.ndarray]:
    """(labels, starts, ends) of the runs of `labels` whose label is not background; ends exclusive, but the
    video's final run ends at T - 1 with upstream_last_end (MS-TCN)."""
    labels = list(labels)
    names, starts, ends = [], [], []
    i = 0
    while i < len(labels):
        j = i
        while j < len(labels) and labels[j] == labels[i]:
            j += 1
        if labels[i] not in bg_class:
            names.append(labels[i])
            starts.append(i)
            ends.append(j - 1 if upstream_last_end and j == len(labels) else j)
        i = j
    return names, np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)


def _levenshtein(a: list, b: list) -> int:
    d = np.zeros((len(a) + 1, len(b) + 1), dtype=np.int64)
    d[:, 0] = np.arange(len(a) + 1)
    d[0, :] = np.arange(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    return int(d[-1, -1])


def edit_score(pred: Sequence, gt: Sequence, bg_class: Collection = ()) -> float:
    """(1 - Levenshtein(segment label sequences) / longer length) * 100 for one video.

    Both sequences empty (all background) scores 100: MS-TCN divides by zero there."""
    p, _, _ = segments(pred, bg_class)
    y, _, _ = segments(gt, bg_class)
    longest = max(len(p), len(y))
    if longest == 0:
        return 100.0
    return (1.0 - _levenshtein(p, y) / longest) * 100.0


def f_counts(
    pred: Sequence,
    gt: Sequence,
    overlap: float,
    bg_class: Collection = (),
    upstream_last_end: bool = True,
) -> tuple[int, int, int]:
    """(tp, fp, fn) of one video at IoU threshold `overlap`."""
    p_label, p_start, p_end = segments(pred, bg_class, upstream_last_end)
    y_label, y_start, y_end = segments(gt, bg_class, upstream_last_end)
    hits = np.zeros(len(y_label), dtype=bool)
    tp = fp = 0
    for j in range(len(p_label)):
        if not y_label:
            fp += 1
            continue
        inter = np.minimum(p_end[j], y_end) - np.maximum(p_start[j], y_start)
        union = np.maximum(p_end[j], y_end) - np.minimum(p_start[j], y_start)
        same = np.array([p_label[j] == y for y in y_label], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            # 0/0 only for two 1-frame final runs (length 0 upstream): nan, never a TP, as in MS-TCN
            iou = inter / union * same
        best = int(iou.argmax())
        if iou[best] >= overlap and not hits[best]:
            tp += 1
            hits[best] = True
        else:
            fp += 1
    return tp, fp, len(y_label) - int(hits.sum())


def segmentation_scores(
    preds: Sequence[Sequence],
    gts: Sequence[Sequence],
    bg_class: Collection = ("background",),
    upstream_last_end: bool = True,
) -> dict[str, float]:
    """Acc, Edit and F1@{10,25,50} (all ×100) over a split: lists of per-frame label sequences, one per video."""
    if len(preds) != len(gts):
        raise ValueError(f"segmentation_scores: {len(preds)} predictions for {len(gts)} ground truths")
    correct = total = 0
    edits = []
    counts = np.zeros((len(OVERLAPS), 3), dtype=np.int64)
    for k, (pred, gt) in enumerate(zip(preds, gts, strict=True)):
        pred, gt = list(pred), list(gt)
        if len(pred) != len(gt):
            raise ValueError(
                f"segmentation_scores: video {k} has {len(pred)} predicted frames, {len(gt)} true"
            )
        correct += sum(a == b for a, b in zip(pred, gt, strict=True))
        total += len(gt)
        edits.append(edit_score(pred, gt, bg_class))
        for o, overlap in enumerate(OVERLAPS):
            counts[o] += f_counts(pred, gt, overlap, bg_class, upstream_last_end)
    scores = {"acc": 100.0 * correct / max(total, 1), "edit": float(np.mean(edits)) if edits else 0.0}
    for (tp, fp, fn), overlap in zip(counts, OVERLAPS, strict=True):
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[f"f1@{round(overlap * 100)}"] = 100.0 * f1
    return scores
