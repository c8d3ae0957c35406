"""Readers of every native annotation format, each failing with an InputError that names file, line, column.

One module per upstream family: `egoclip` (EgoVLP/HierVL), `epic` (EPIC-KITCHENS-100, RULSTM), `charades`
(Charades-Ego), `ego4d_lta`, `changeit`, `phases` (CARL pickles), `gtea` (segmentation labels). Readers take
a path plus optional known-id sets (video uids of the sheet, class tables) and return pandas tables with the
original column names, or small dataclasses for folder- and JSON-structured data.

`read_annotations` reads every configured file and cross-checks them, so a workflow fails before any job.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from egoflow.annotations.changeit import ChangeIt, read_changeit
from egoflow.annotations.charades import read_charades, read_charades_classes
from egoflow.annotations.ego4d_lta import LtaTaxonomy, read_lta, read_lta_taxonomy
from egoflow.annotations.egoclip import (
    MCQuestion,
    SummaryClips,
    read_egoclip,
    read_egomcq,
    read_egosummary,
    read_summary_hierarchy,
)
from egoflow.annotations.epic import (
    read_epic_classes,
    read_epic_relevancy,
    read_epic_segments,
    read_epic_sentences,
    read_rulstm_actions,
)
from egoflow.annotations.gtea import Gtea, read_gtea
from egoflow.annotations.phases import read_phase_splits, read_phases
from egoflow.atomic import atomic_write
from egoflow.errors import InputError

__all__ = [
    "ChangeIt",
    "Gtea",
    "LtaTaxonomy",
    "MCQuestion",
    "SummaryClips",
    "check_annotations",
    "read_annotations",
    "read_changeit",
    "read_charades",
    "read_charades_classes",
    "read_egoclip",
    "read_egomcq",
    "read_egosummary",
    "read_epic_classes",
    "read_epic_relevancy",
    "read_epic_segments",
    "read_epic_sentences",
    "read_gtea",
    "read_lta",
    "read_lta_taxonomy",
    "read_phase_splits",
    "read_phases",
    "read_rulstm_actions",
    "read_summary_hierarchy",
]

# The keys of the config's `annotations` section, in the order they are read (class tables before their users).
ANNOTATION_KEYS = (
    "epic_verb_classes",
    "epic_noun_classes",
    "epic_train",
    "epic_validation",
    "epic_retrieval_test",
    "epic_retrieval_sentences",
    "epic_relevancy",
    "egoclip",
    "egosummary",
    "summary_hierarchy",
    "egomcq",
    "summarymcq",
    "charades_classes",
    "charades_train",
    "charades_test",
    "lta_taxonomy",
    "lta_train",
    "lta_val",
    "changeit",
    "phases",
    "gtea",
)


def read_annotations(config_annotations: Mapping[str, str], known_videos: Collection[str]) -> dict[str, Any]:
    """Read and cross-check every configured annotation file -> key -> what its reader returns.

    Keys absent from `config_annotations` are skipped, along with the cross-checks that need them. Every
    video id must be in `known_videos` (the sheet's video_uid column) and every class id in its class table.
    """
    unknown = set(config_annotations) - set(ANNOTATION_KEYS)
    if unknown:
        raise ValueError(f"unknown annotation keys {sorted(unknown)}; known: {', '.join(ANNOTATION_KEYS)}")
    known = set(known_videos)
    paths = {key: Path(config_annotations[key]) for key in ANNOTATION_KEYS if key in config_annotations}
    out: dict[str, Any] = {}
    for key, path in tqdm(paths.items(), desc="annotations", unit="file"):
        out[key] = read_one(key, path, known, out)
    return out


def read_one(key: str, path: Path, known: set[str], done: dict[str, Any]) -> Any:
    """Read one configured file, passing it the tables already read that it must agree with."""
    classes = {"verb_classes": done.get("epic_verb_classes"), "noun_classes": done.get("epic_noun_classes")}
    if key in ("epic_verb_classes", "epic_noun_classes"):
        return read_epic_classes(path)
    if key in ("epic_train", "epic_validation", "epic_retrieval_test"):
        return read_epic_segments(path, known, **classes)
    if key == "epic_retrieval_sentences":
        return read_epic_sentences(path, done.get("epic_retrieval_test"))
    if key == "epic_relevancy":
        # one row per retrieval clip, one column per caption
        test, sentences = done.get("epic_retrieval_test"), done.get("epic_retrieval_sentences")
        shape = (len(test), len(sentences)) if test is not None and sentences is not None else None
        return read_epic_relevancy(path, shape=shape)
    if key == "egoclip":
        return read_egoclip(path, known)
    if key == "egosummary":
        return read_egosummary(path, known)
    if key == "summary_hierarchy":
        return read_summary_hierarchy(path, done.get("egosummary"))
    if key in ("egomcq", "summarymcq"):
        return read_egomcq(path, known)
    if key == "charades_classes":
        return read_charades_classes(path)
    if key in ("charades_train", "charades_test"):
        return read_charades(path, known, classes=done.get("charades_classes"))
    if key == "lta_taxonomy":
        return read_lta_taxonomy(path)
    if key in ("lta_train", "lta_val"):
        return read_lta(path, known, taxonomy=done.get("lta_taxonomy"))
    if key == "changeit":
        return read_changeit(path, known)
    if key == "phases":
        return read_phase_splits(path, known)
    if key == "gtea":
        return read_gtea(path, known)
    raise InputError(path, f"no reader for annotation key {key!r}")


def count_records(value: Any) -> int:
    """How many records a reader returned: rows, questions, videos or (for arrays) rows of the matrix."""
    for attribute in ("videos", "annotations", "splits", "clips"):
        inner = getattr(value, attribute, None)
        if inner is not None and hasattr(inner, "__len__"):
            return len(inner)
    return len(value) if hasattr(value, "__len__") else 1


def check_annotations(
    config_annotations: Mapping[str, str], known_videos: Collection[str], summary_path: str | Path
) -> None:
    """Read and cross-check every annotation file, then write a TSV of what each holds (for the report)."""
    tables = read_annotations(config_annotations, known_videos)
    summary = pd.DataFrame(
        [
            {"annotation": key, "records": count_records(value), "path": str(config_annotations[key])}
            for key, value in tables.items()
        ]
    )
    with atomic_write(summary_path) as handle:
        summary.to_csv(handle, sep="\t", index=False)
