"""Small inline SVG charts (no plotting library): horizontal bars and line curves."""

from __future__ import annotations

import math
from collections.abc import Sequence

from egoflow.report.page import esc

COLOURS = ["#2f6fb0", "#d9822b", "#3a9d5d", "#b03a48", "#7b5ea7", "#8c6d31"]


def bar_chart(labels: Sequence[str], values: Sequence[float], *, unit: str = "s", width: int = 640) -> str:
    """One horizontal bar per label, longest first as given."""
    row, left = 18, 190
    top = max(values, default=0.0) or 1.0
    height = row * len(labels) + 24
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * row
        length = (width - left - 70) * value / top
        bars.append(
            f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" font-size="11">{esc(label)}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{length:.1f}" height="{row - 5}" fill="{COLOURS[0]}"/>'
            f'<text x="{left + length + 4:.1f}" y="{y + 12}" font-size="11">{value:.3g} {esc(unit)}</text>'
        )
    return f'<svg class="chart" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'


def line_chart(
    x: Sequence[float], series: dict[str, Sequence[float]], *, xlabel: str, width: int = 640
) -> str:
    """Curves over a shared x axis (e.g. loss per step); NaNs are gaps."""
    height, pad = 260, 44
    finite = [v for ys in series.values() for v in ys if math.isfinite(v)]
    if not x or not finite:
        return '<p class="note">no finite values to plot</p>'
    x0, x1 = min(x), max(x)
    y0, y1 = min(finite), max(finite)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

    def px(v):
        return pad + (width - 2 * pad) * (v - x0) / (x1 - x0)

    def py(v):
        return height - pad + (2 * pad - height) * (v - y0) / (y1 - y0)

    out = [
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#888"/>',
        f'<text x="{width / 2}" y="{height - 10}" text-anchor="middle" font-size="11">{esc(xlabel)}</text>',
        f'<text x="{pad - 4}" y="{pad}" text-anchor="end" font-size="10">{y1:.3g}</text>',
        f'<text x="{pad - 4}" y="{height - pad}" text-anchor="end" font-size="10">{y0:.3g}</text>',
        f'<text x="{pad}" y="{height - pad + 14}" font-size="10">{x0:.3g}</text>',
        f'<text x="{width - pad}" y="{height - pad + 14}" text-anchor="end" font-size="10">{x1:.3g}</text>',
    ]
    for i, (name, ys) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, ys, strict=True) if math.isfinite(b))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{points}"/>')
        out.append(
            f'<text x="{width - pad + 4}" y="{pad + 12 * i}" font-size="10" fill="{colour}">{esc(name)}</text>'
        )
    return f'<svg class="chart" width="{width + 60}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(out)}</svg>'
