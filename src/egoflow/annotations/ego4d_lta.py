"""Ego4D long-term action anticipation: fho_lta_{train,val,test_unannotated}.json and fho_lta_taxonomy.json.

`fho_lta_<set>.json` is {version, date, description, split, clips: [...]}, one clips entry per annotated action
interval (EGO4D docs, forecasting benchmark). The test file has no verb/noun labels: they read as -1, as in the
official loader. An entry's frames are read from its video_uid (the full Ego4D video) at
clip_parent_start_sec + action_clip_*_sec (egoflow.anticipation.data.lta_windows), so video_uid is the id
checked against the video sheet; clip_uid only groups the actions of one clip.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from egoflow.annotations.jsonfile import expect, field, join, load_json
from egoflow.errors import InputError

# key -> kind, in the schema's order; the first group is required in every file.
REQUIRED = {
    "video_uid": "str",
    "clip_uid": "str",
    "action_idx": "int",
    "action_clip_start_sec": "number",
    "action_clip_end_sec": "number",
}
LABELS = {"verb": "str", "noun": "str", "verb_label": "int", "noun_label": "int"}
OPTIONAL = {
    "clip_id": "int",
    "clip_parent_start_sec": "number",
    "clip_parent_end_sec": "number",
    "clip_parent_start_frame": "int",
    "clip_parent_end_frame": "int",
    "interval_start_sec": "number",
    "interval_end_sec": "number",
    "interval_start_frame": "int",
    "interval_end_frame": "int",
    "action_clip_start_frame": "int",
    "action_clip_end_frame": "int",
}
UNLABELLED = {"verb": "", "noun": "", "verb_label": -1, "noun_label": -1}


@dataclass
class LtaTaxonomy:
    verbs: list[str]  # index = verb_label (115 in v1, 117 in v2)
    nouns: list[str]  # index = noun_label (478 in v1, 521 in v2)


def read_lta_taxonomy(path: str | Path) -> LtaTaxonomy:
    data = expect(path, load_json(path), "dict", "")
    lists = {}
    for key in ("verbs", "nouns"):
        values = field(path, data, key, "list", "")
        if not values:
            raise InputError(path, "empty class list", column=key)
        for i, value in enumerate(values):
            expect(path, value, "str", join(key, i))
        lists[key] = values
    return LtaTaxonomy(verbs=lists["verbs"], nouns=lists["nouns"])


def read_lta(
    path: str | Path,
    known_videos: Collection[str] | None = None,
    *,
    taxonomy: LtaTaxonomy | None = None,
    labelled: bool = True,
) -> pd.DataFrame:
    """One row per clips entry, columns named by the JSON keys; attrs carry split and version."""
    data = expect(path, load_json(path), "dict", "")
    clips = field(path, data, "clips", "list", "")
    known = set(known_videos) if known_videos is not None else None
    rows = []
    seen: dict[tuple[str, int], int] = {}
    for i, entry in enumerate(clips):
        where = join("clips", i)
        expect(path, entry, "dict", where)
        row = {key: field(path, entry, key, kind, where) for key, kind in REQUIRED.items()}
        for key, kind in LABELS.items():
            row[key] = field(path, entry, key, kind, where) if labelled else entry.get(key, UNLABELLED[key])
        for key, kind in OPTIONAL.items():
            if key in entry:
                row[key] = field(path, entry, key, kind, where)
        if row["action_clip_end_sec"] < row["action_clip_start_sec"]:
            raise InputError(
                path,
                "action_clip_end_sec is before action_clip_start_sec",
                column=join(where, "action_clip_end_sec"),
            )
        if known is not None and row["video_uid"] not in known:
            raise InputError(
                path,
                f"unknown video (not in the video sheet) {row['video_uid']!r}",
                column=join(where, "video_uid"),
            )
        if labelled and taxonomy is not None:
            for key, names in (("verb_label", taxonomy.verbs), ("noun_label", taxonomy.nouns)):
                if not 0 <= row[key] < len(names):
                    raise InputError(
                        path,
                        f"{key} {row[key]} is beyond the taxonomy ({len(names)} classes)",
                        column=join(where, key),
                    )
        # Windows of future actions are cut by (clip_uid, action_idx): the pair must name one action.
        pair = (row["clip_uid"], row["action_idx"])
        if pair in seen:
            raise InputError(
                path,
                f"action_idx {pair[1]} repeats in clip {pair[0]!r} (first at clips[{seen[pair]}])",
                column=join(where, "action_idx"),
            )
        seen[pair] = i
        rows.append(row)
    if not rows:
        raise InputError(path, "no clips", column="clips")
    table = pd.DataFrame(rows)
    table.attrs = {"path": str(path), "split": data.get("split"), "version": data.get("version")}
    return table
