"""The items the text stage generates for: unique narrations (clip level) and summary windows (video level).

Every item carries a stable id, a hash of its exact text, so shards, caches and outputs agree across runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from egoflow.annotations.egoclip import read_egoclip, read_egosummary, read_summary_hierarchy
from egoflow.atomic import atomic_write
from egoflow.errors import InputError

KINDS = ("clip", "order", "key")  # clip-level states; video-level misordered / missing-key-step summaries
SUMMARY_KINDS = ("order", "key")


def text_id(text: str) -> str:
    """Stable id of an exact string (no stripping, no case folding): 16 hex digits of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Item:
    """One generation request: `key` is the narration or summary text that keys the output JSON."""

    kind: str  # one of KINDS
    key: str
    narrations: tuple[str, ...] = field(default=())  # summary window's narrations (video level only)

    @property
    def id(self) -> str:
        return text_id(self.key) if self.kind == "clip" else f"{text_id(self.key)}-{self.kind}"


def read_narrations(egoclip: str | Path) -> list[str]:
    """The unique narrations (column `clip_text`) of an EgoClip-style TSV, sorted (upstream order)."""
    return sorted(set(read_egoclip(egoclip)["clip_text"]))


def subsample(narrations: list[str], *, keep: int = 30, threshold: int = 60) -> list[str]:
    """Evenly subsample a window's narrations to at most `keep` when there are at least `threshold`.

    Upstream rule (video_level_cf.py): `lst[::max(1, len // 30)][:30]` for windows of >= 60 narrations.
    """
    if len(narrations) < threshold:
        return list(narrations)
    return list(narrations[:: max(1, len(narrations) // keep)][:keep])


def read_summaries(
    egosummary: str | Path, hierarchy: str | Path, *, keep: int = 30, threshold: int = 60
) -> list[tuple[str, list[str]]]:
    """(summary, narrations of its window) for each unique summary text of an EgoSummary-style TSV, sorted.

    The hierarchy JSON is keyed by summary text (HierVL); a summary missing from it gets no narrations and is
    prompted from the summary alone, as upstream does.
    """
    table = read_egosummary(egosummary)
    windows = read_summary_hierarchy(hierarchy, table)
    summaries = []
    for summary in sorted(set(table["clip_text"])):
        texts = windows[summary].clip_text if summary in windows else []
        summaries.append((summary, subsample(texts, keep=keep, threshold=threshold)))
    return summaries


def write_narration_set(egoclip: str | Path, out: str | Path) -> int:
    """narrations.jsonl: one {"id", "narration"} line per unique narration. Returns the count."""
    narrations = read_narrations(egoclip)
    with atomic_write(out) as handle:
        for text in narrations:
            handle.write(json.dumps({"id": text_id(text), "narration": text}, ensure_ascii=False) + "\n")
    return len(narrations)


def write_summary_set(
    egosummary: str | Path, hierarchy: str | Path, out: str | Path, *, keep: int = 30, threshold: int = 60
) -> int:
    """summaries.jsonl: one {"id", "summary", "narrations"} line per unique summary. Returns the count."""
    summaries = read_summaries(egosummary, hierarchy, keep=keep, threshold=threshold)
    with atomic_write(out) as handle:
        for summary, narrations in summaries:
            record = {"id": text_id(summary), "summary": summary, "narrations": narrations}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(summaries)


def load_items(path: str | Path, kind: str) -> list[Item]:
    """Items of `kind` from a narrations.jsonl (kind "clip") or summaries.jsonl ("order" / "key")."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    items = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
                if kind == "clip":
                    items.append(Item("clip", record["narration"]))
                else:
                    items.append(Item(kind, record["summary"], tuple(record["narrations"])))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise InputError(path, f"bad item record: {error}", line=line_number) from None
    return items


def shard(items: list[Item], index: int, count: int) -> list[Item]:
    """The `index`-th of `count` contiguous, balanced shards (shard sizes differ by at most one)."""
    if not 0 <= index < count:
        raise ValueError(f"shard {index} out of range for {count} shards")
    return items[index * len(items) // count : (index + 1) * len(items) // count]
