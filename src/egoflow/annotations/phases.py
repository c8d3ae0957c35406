"""CARL-style per-frame phase labels: `<split>.pkl` = a list of {id, video_file, frame_label, seq_len, name}.

CARL's Pouring/FineGym pickles hold that list; PennAction's hold (list, action_to_indices). frame_label is a
(T,) integer array, one phase per frame (FineGym marks unlabelled frames -1; they are dropped at evaluation).
CARL saved torch LongTensors; this reader accepts numpy arrays only (see `safe_pickle` for why), so convert
upstream pickles once with `frame_label.numpy()`. `name` is the video's id, checked against the sheet.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from egoflow.annotations.jsonfile import expect, field, join
from egoflow.annotations.safe_pickle import load_pickle
from egoflow.errors import InputError

SPLITS = ("train", "val", "test")
KEYS = {"id": "int", "video_file": "str", "seq_len": "int", "name": "str"}


def read_phases(path: str | Path, known_videos: Collection[str] | None = None) -> pd.DataFrame:
    """One split's pickle -> one row per video with columns id, video_file, frame_label, seq_len, name (+ extras)."""
    data = load_pickle(path)
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[1], dict):
        data = data[0]  # PennAction: (videos, action_to_indices)
    expect(path, data, "list", "")
    known = set(known_videos) if known_videos is not None else None
    rows = []
    for i, item in enumerate(data):
        where = f"[{i}]"
        expect(path, item, "dict", where)
        row = dict(item)
        for key, kind in KEYS.items():
            value = item.get(key)
            if isinstance(value, np.integer):  # numpy scalars are as good as ints here
                row[key] = value = int(value)
            field(path, row, key, kind, where)
        labels = item.get("frame_label")
        if labels is None:
            raise InputError(path, "missing key", column=join(where, "frame_label"))
        if (
            not isinstance(labels, np.ndarray)
            or labels.ndim != 1
            or not np.issubdtype(labels.dtype, np.integer)
        ):
            raise InputError(
                path,
                f"frame_label must be a 1-D integer array, found {type(labels).__name__} {getattr(labels, 'dtype', '')}",
                column=join(where, "frame_label"),
            )
        if len(labels) != row["seq_len"]:
            raise InputError(
                path,
                f"frame_label has {len(labels)} frames but seq_len is {row['seq_len']}",
                column=join(where, "frame_label"),
            )
        if labels.size and labels.min() < -1:
            raise InputError(
                path,
                f"phase label {labels.min()} (only -1 may mark unlabelled frames)",
                column=join(where, "frame_label"),
            )
        if known is not None and row["name"] not in known:
            raise InputError(
                path, f"unknown video (not in the video sheet) {row['name']!r}", column=join(where, "name")
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs = {"path": str(path)}
    return table


def read_phase_splits(
    folder: str | Path, known_videos: Collection[str] | None = None
) -> dict[str, pd.DataFrame]:
    """{train,val,test}.pkl in `folder` -> split -> table; a video may appear in one split only."""
    folder = Path(folder)
    splits = {split: read_phases(folder / f"{split}.pkl", known_videos) for split in SPLITS}
    owner: dict[str, str] = {}
    for split, table in splits.items():
        for i, name in enumerate(table.get("name", [])):
            if name in owner:
                raise InputError(
                    folder / f"{split}.pkl",
                    f"video {name!r} is also in {owner[name]}.pkl",
                    column=f"[{i}].name",
                )
            owner[name] = split
    return splits
