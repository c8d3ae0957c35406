"""Merge shard records into the upstream layouts plus one table of every generation.

states.json      {narration: {"Before", "After", "CF 1", "CF 2", "CF 3"}}
summary_cf.json  {summary: {"order": {"CF 1".."CF 10"}, "key": {"CF 1".."CF 10"}}}  (both kinds ok only)
generations.tsv  id, kind, status, attempts, reason, key, responses (JSON list of raw answers)
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from egoflow.atomic import atomic_write
from egoflow.errors import InputError

TABLE_COLUMNS = ("id", "kind", "status", "attempts", "reason", "key", "responses")


def read_records(paths: Iterable[str | Path]) -> list[dict]:
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise InputError(path, f"bad record: {error.msg}", line=line_number) from None
    return records


def merge_text(
    clip: Iterable[str | Path],
    summary: Iterable[str | Path],
    *,
    states: str | Path,
    summary_cf: str | Path,
    table: str | Path,
) -> tuple[int, int]:
    """Write the three outputs; returns (narrations with states, summaries with both counterfactual kinds)."""
    clip_records = read_records(clip)
    summary_records = read_records(summary)
    merged_states = {
        r["key"]: r["answer"] for r in sorted(clip_records, key=lambda r: r["key"]) if r["status"] == "ok"
    }
    by_summary: dict[str, dict] = {}
    for record in sorted(summary_records, key=lambda r: (r["key"], r["kind"])):
        if record["status"] == "ok":
            by_summary.setdefault(record["key"], {})[record["kind"]] = record["answer"]
    merged_cf = {
        key: {"order": kinds["order"], "key": kinds["key"]}
        for key, kinds in by_summary.items()
        if "order" in kinds and "key" in kinds
    }
    with atomic_write(states) as handle:
        json.dump(merged_states, handle, ensure_ascii=False, indent=1)
    with atomic_write(summary_cf) as handle:
        json.dump(merged_cf, handle, ensure_ascii=False, indent=1)
    with atomic_write(table) as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(TABLE_COLUMNS)
        for r in clip_records + summary_records:
            raw = json.dumps([response["text"] for response in r["responses"]], ensure_ascii=False)
            writer.writerow(
                [r["id"], r["kind"], r["status"], r["attempts"], r["reason"] or "", r["key"], raw]
            )
    failed = sum(r["status"] != "ok" for r in clip_records + summary_records)
    print(
        f"states.json: {len(merged_states)} of {len(clip_records)} narrations; summary_cf.json: "
        f"{len(merged_cf)} summaries; {failed} failed generations listed in {table}",
        file=sys.stderr,
    )
    return len(merged_states), len(merged_cf)
