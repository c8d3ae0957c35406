"""Figures of the frame-wise stage, as standalone SVG (no plotting library): the DTW alignment of two videos'
embeddings and per-video segmentation colour bars (prediction above ground truth)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

PALETTE = [
    "#2f6fb0",
    "#d9822b",
    "#3a9d5d",
    "#b03a48",
    "#7b5ea7",
    "#8c6d31",
    "#17becf",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
]


def dtw_path(a: np.ndarray, b: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
    """DTW with squared Euclidean cost (CARL's alignment): total cost and the path of (i, j) pairs."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    cost = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    i, j, path = n, m, []
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        step = int(np.argmin([acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]]))
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
    return float(acc[n, m]), path[::-1]


def _bar(labels: Sequence[int], x: float, y: float, width: float, height: float, colours: dict) -> str:
    n = max(len(labels), 1)
    parts, start = [], 0
    for t in range(1, len(labels) + 1):
        if t == len(labels) or labels[t] != labels[start]:
            w = width * (t - start) / n
            parts.append(
                f'<rect x="{x + width * start / n:.2f}" y="{y}" width="{w:.2f}" height="{height}" '
                f'fill="{colours[labels[start]]}"/>'
            )
            start = t
    return "".join(parts)


def _colours(values) -> dict:
    return {v: PALETTE[k % len(PALETTE)] for k, v in enumerate(sorted(set(values), key=str))}


def alignment_svg(
    a: np.ndarray, b: np.ndarray, labels_a, labels_b, names: tuple[str, str], width: int = 720
) -> str:
    """Two videos' phase bars with the DTW path drawn as lines between aligned frames."""
    _, path = dtw_path(a, b)
    colours = _colours(list(labels_a) + list(labels_b))
    left, bar_w, top, gap, h = 120, width - 140, 30, 120, 22
    lines = []
    for i, j in path[:: max(1, len(path) // 60)]:  # at most ~60 links, readable
        x1 = left + bar_w * (i + 0.5) / len(a)
        x2 = left + bar_w * (j + 0.5) / len(b)
        lines.append(
            f'<line x1="{x1:.1f}" y1="{top + h}" x2="{x2:.1f}" y2="{top + gap}" stroke="#555" stroke-width="0.8"/>'
        )
    body = (
        f'<text x="{left - 8}" y="{top + 15}" text-anchor="end" font-size="12">{escape(names[0])}</text>'
        f'<text x="{left - 8}" y="{top + gap + 15}" text-anchor="end" font-size="12">{escape(names[1])}</text>'
        + _bar(list(labels_a), left, top, bar_w, h, colours)
        + _bar(list(labels_b), left, top + gap, bar_w, h, colours)
        + "".join(lines)
        + f'<text x="{left}" y="16" font-size="13">DTW alignment of frame embeddings (colours: phases)</text>'
    )
    height = top + gap + h + 20
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="white"/>{body}</svg>\n'
    )


def segmentation_svg(videos: dict[str, tuple[Sequence[str], Sequence[str]]], width: int = 720) -> str:
    """One row pair per video: prediction bar above the ground-truth bar; a legend of actions."""
    values = [v for pred, gt in videos.values() for v in list(pred) + list(gt)]
    colours = _colours(values)
    left, bar_w, h, row = 160, width - 180, 14, 44
    parts = [
        '<text x="10" y="16" font-size="13">Segmentation: prediction (upper) vs ground truth (lower)</text>'
    ]
    y = 28
    for name, (pred, gt) in videos.items():
        parts.append(
            f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" font-size="11">{escape(name)}</text>'
        )
        parts.append(_bar(list(pred), left, y, bar_w, h, colours))
        parts.append(_bar(list(gt), left, y + h + 2, bar_w, h, colours))
        y += row
    for k, (label, colour) in enumerate(colours.items()):
        lx, ly = 10 + (k % 4) * (width // 4), y + 10 + (k // 4) * 16
        parts.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{ly + 9}" font-size="10">{escape(str(label))}</text>')
    height = y + 20 + (len(colours) // 4 + 1) * 16
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>\n'
    )
