"""The one results table: every metrics JSON of every stage gathered into rows (system, run, task, split,
metric, value), whatever stage wrote it. A JSON counts when it has the keys system, run, task, split and metrics
(a {name: number} mapping, nested mappings flattened with dots); other JSON files are skipped, so the gatherer
never needs to know the stages.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from egoflow.atomic import write_text
from egoflow.errors import InputError

__all__ = ["SUMMARY_COLUMNS", "gather_metrics", "write_summary"]

SUMMARY_COLUMNS = ("system", "run", "task", "split", "metric", "value")
KEYS = ("system", "run", "task", "split", "metrics")


def _flat(metrics: dict, prefix: str = ""):
    for name, value in metrics.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{name}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{prefix}{name}", float(value)


def gather_metrics(paths) -> list[tuple[str, str, str, str, str, float]]:
    """Rows of every metrics JSON among `paths`, sorted (system, run, task, split, metric)."""
    rows = []
    for path in paths:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise InputError(path, f"not valid JSON: {error}") from error
        if not isinstance(data, dict) or not all(k in data for k in KEYS):
            continue
        if not isinstance(data["metrics"], dict):
            raise InputError(path, "metrics must be a mapping of metric names to numbers")
        rows += [(*(str(data[k]) for k in KEYS[:4]), name, value) for name, value in _flat(data["metrics"])]
    return sorted(rows)


def write_summary(paths, out: str | Path) -> list[tuple]:
    """results/metrics/summary.tsv: a header and one row per (system, run, task, split, metric)."""
    rows = gather_metrics(paths)
    lines = ["\t".join(SUMMARY_COLUMNS)]
    lines += ["\t".join([*row[:5], "nan" if math.isnan(row[5]) else f"{row[5]:.6g}"]) for row in rows]
    write_text(out, "\n".join(lines) + "\n")
    return rows
