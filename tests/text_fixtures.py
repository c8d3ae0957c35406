"""Tiny EgoClip / EgoSummary / hierarchy files for the text-stage tests (same columns as the upstream files)."""

from __future__ import annotations

import json
from pathlib import Path

from egoflow.annotations.egoclip import EGOCLIP_COLUMNS

COLUMNS = list(EGOCLIP_COLUMNS)
NARRATIONS = [
    "#C C picks a bag of clothes from the floor.",
    "#C C opens the fridge.",
    "#C C washes the knife in the sink.",
    "#C C cuts the onion on the chopping board.",
    "#C C pours water into the kettle.",
    "#C C stirs the soup with a spoon.",
    "#C C closes the drawer.",
    "#O X looks around.",
    "#C C folds the towel.",
    "#C C turns on the tap.",
]
SUMMARIES = {
    "#Summary C prepares a meal in the kitchen.": NARRATIONS[1:7],
    "#Summary C tidies the room.": [NARRATIONS[0], NARRATIONS[8]],
    "#Summary C walks around the house.": None,  # absent from the hierarchy: summary-only prompt
}


def _row(uid: str, index: int, text: str) -> str:
    values = [
        uid,
        "600.0",
        "narration_pass_1",
        str(index),
        f"{index}.0",
        f"{index}.0",
        f"{index + 1}.0",
        text,
    ]
    return "\t".join([*values, "[1]", "[2]"])


def write_inputs(folder: Path, narrations: list[str] = NARRATIONS) -> dict[str, Path]:
    """egoclip.csv (with a duplicate narration), egosummary_full.csv and the hierarchy JSON under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    egoclip = folder / "egoclip.csv"
    rows = [_row("v1", i, text) for i, text in enumerate([*narrations, narrations[0]])]
    egoclip.write_text("\t".join(COLUMNS) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    egosummary = folder / "egosummary_full.csv"
    rows = [_row("v1", i, text) for i, text in enumerate(SUMMARIES)]
    egosummary.write_text("\t".join(COLUMNS) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    hierarchy = folder / "summary_clips_hierarchy_full.json"
    windows = {
        summary: {
            "summary_start": 0.0,
            "summary_end": 60.0,
            "clip_start": [float(i) for i in range(len(texts))],
            "clip_end": [i + 1.0 for i in range(len(texts))],
            "clip_text": texts,
            "tag_verb": ["[1]"] * len(texts),
            "tag_noun": ["[2]"] * len(texts),
        }
        for summary, texts in SUMMARIES.items()
        if texts
    }
    hierarchy.write_text(json.dumps(windows), encoding="utf-8")
    return {"egoclip": egoclip, "egosummary": egosummary, "summary_hierarchy": hierarchy}


def write_sets(folder: Path) -> tuple[Path, Path]:
    """The narration and summary sets (text stage inputs) built from the fixture files, in `folder`."""
    from egoflow.text.narrations import write_narration_set, write_summary_set

    inputs = write_inputs(folder / "in")
    narrations, summaries = folder / "narrations.jsonl", folder / "summaries.jsonl"
    write_narration_set(inputs["egoclip"], narrations)
    write_summary_set(inputs["egosummary"], inputs["summary_hierarchy"], summaries)
    return narrations, summaries
