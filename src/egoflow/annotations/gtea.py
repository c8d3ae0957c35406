"""GTEA-style temporal action segmentation labels (MS-TCN / ASFormer layout):

mapping.txt                  "<id> <action>" per line, ids 0..N-1
groundTruth/<video>.txt      one action name per frame
splits/<set>.split<k>.bundle one "<video>.txt" per line
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from egoflow.errors import InputError


@dataclass
class Gtea:
    mapping: pd.DataFrame  # id, name
    labels: dict[str, np.ndarray]  # video -> (frames,) int64 action ids
    splits: dict[str, list[str]]  # "train.split1" -> videos


def read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of the non-empty lines."""
    if not path.is_file():
        raise InputError(path, "file not found")
    with open(path, encoding="utf-8") as handle:
        lines = [(n, line.strip()) for n, line in enumerate(handle, start=1) if line.strip()]
    if not lines:
        raise InputError(path, "file is empty", line=1)
    return lines


def read_mapping(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    rows = []
    for number, text in read_lines(path):
        parts = text.split(" ", 1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise InputError(path, f"expected '<id> <action>', found {text!r}", line=number, column="id")
        if int(parts[0]) != len(rows):
            raise InputError(
                path, f"ids must run 0..N-1 in order; expected {len(rows)}", line=number, column="id"
            )
        if parts[1] in {r["name"] for r in rows}:
            raise InputError(path, f"duplicate action {parts[1]!r}", line=number, column="name")
        rows.append({"id": int(parts[0]), "name": parts[1]})
    return pd.DataFrame(rows, columns=["id", "name"])


def read_ground_truth(path: Path, ids: dict[str, int]) -> np.ndarray:
    labels = []
    for number, text in read_lines(path):
        if text not in ids:
            raise InputError(
                path, f"unknown action {text!r} (not in mapping.txt)", line=number, column="action"
            )
        labels.append(ids[text])
    return np.asarray(labels, dtype=np.int64)


def read_gtea(root: str | Path, known_videos: Collection[str] | None = None) -> Gtea:
    root = Path(root)
    mapping = read_mapping(root / "mapping.txt")
    ids = dict(zip(mapping["name"], mapping["id"], strict=True))
    known = set(known_videos) if known_videos is not None else None
    labels = {}
    for path in sorted((root / "groundTruth").glob("*.txt")):
        if known is not None and path.stem not in known:
            raise InputError(path, f"unknown video (not in the video sheet) {path.stem!r}")
        labels[path.stem] = read_ground_truth(path, ids)
    if not labels:
        raise InputError(root / "groundTruth", "no <video>.txt label files")
    splits = {}
    for path in sorted((root / "splits").glob("*.bundle")):
        videos = []
        for number, text in read_lines(path):
            video = text.removesuffix(".txt")
            if video not in labels:
                raise InputError(
                    path, f"no groundTruth/{video}.txt for this split entry", line=number, column="video"
                )
            videos.append(video)
        splits[path.name.removesuffix(".bundle")] = videos
    if not splits:
        raise InputError(root / "splits", "no <set>.split<k>.bundle files")
    return Gtea(mapping=mapping, labels=labels, splits=splits)
