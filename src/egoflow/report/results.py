"""Figures of the results table: one panel per task, its metrics as rows and the runs side by side."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from egoflow.atomic import write_text
from egoflow.report.charts import COLOURS
from egoflow.report.page import esc

__all__ = ["results_figure", "task_panel"]


def task_panel(task: str, values: dict[tuple[str, str], float], width: int = 720) -> tuple[str, float]:
    """One task: rows of metrics, one horizontal bar per run ({(metric, run): value}); SVG body and height."""
    metrics = list(dict.fromkeys(m for m, _ in values))
    runs = list(dict.fromkeys(r for _, r in values))
    finite = [abs(v) for v in values.values() if math.isfinite(v)]
    top = max(finite, default=0.0) or 1.0
    bar, left = 12, 200
    group = bar * len(runs) + 8
    out = [f'<text x="4" y="16" font-size="13" font-weight="bold">{esc(task)}</text>']
    for i, run in enumerate(runs):  # legend
        x = left + 130 * i
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>')
        out.append(f'<text x="{x + 14}" y="15" font-size="11">{esc(run)}</text>')
    y = 26
    for metric in metrics:
        out.append(
            f'<text x="{left - 6}" y="{y + group / 2 + 3}" text-anchor="end" font-size="11">{esc(metric)}</text>'
        )
        for i, run in enumerate(runs):
            value = values.get((metric, run), math.nan)
            length = (width - left - 70) * abs(value) / top if math.isfinite(value) else 0
            colour = COLOURS[i % len(COLOURS)]
            out.append(
                f'<rect x="{left}" y="{y + i * bar}" width="{length:.1f}" height="{bar - 2}" fill="{colour}"/>'
            )
            out.append(
                f'<text x="{left + length + 4:.1f}" y="{y + i * bar + 9}" font-size="10">{value:.4g}</text>'
            )
        y += group
    return "".join(out), y + 6


def results_figure(summary: str | Path, out: str | Path, width: int = 720) -> list[str]:
    """An SVG of the results table (results/metrics/summary.tsv): one panel per (system, task, split); returns
    the panel titles."""
    with open(summary, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    panels: dict[str, dict] = {}
    for row in rows:
        title = f"{row['system']} / {row['task']} ({row['split']})"
        panels.setdefault(title, {})[(row["metric"], row["run"])] = float(row["value"])
    parts, y = [], 0
    for title, values in panels.items():
        body, height = task_panel(title, values, width)
        parts.append(f'<g transform="translate(0,{y})">{body}</g>')
        y += height + 10
    if not parts:
        parts, y = ['<text x="4" y="16" font-size="12">no metrics yet</text>'], 24
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" '
        f'font-family="sans-serif">{"".join(parts)}</svg>\n'
    )
    write_text(out, svg)
    return list(panels)
