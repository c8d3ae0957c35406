"""The video manifest: one row per video and one per chunk (`manifest.tsv`), and the rejected videos.

Chunk paths are stored relative to the manifest's folder, so a manifest and its chunks move together.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from egoflow.atomic import atomic_write
from egoflow.errors import InputError
from egoflow.tables import read_table

MANIFEST_COLUMNS = [
    "row_type",  # video | chunk
    "video_uid",
    "chunk_id",  # k = floor(t / chunk_sec); empty on video rows
    "path",  # video rows: the source file; chunk rows: relative to the manifest's folder
    "start_sec",  # chunk rows: time of the first frame in the source video
    "duration_sec",
    "num_frames",
    "fps",  # real average rate: num_frames / duration_sec
    "vfr",
    "width",
    "height",
    "rotation",
    "codec",
    "pix_fmt",
    "bit_depth",
    "has_audio",
    "num_streams",
    "max_keyframe_interval",
    "num_chunks",  # video rows only
]
REJECTED_COLUMNS = ["video_uid", "path", "stage", "reason"]


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


def _row(row_type: str, uid: str, chunk_id, path: str, start: float, probe: dict, num_chunks) -> dict:
    return {
        "row_type": row_type,
        "video_uid": uid,
        "chunk_id": chunk_id,
        "path": path,
        "start_sec": f"{start:.6f}",
        "duration_sec": f"{probe['duration_sec']:.6f}",
        "num_frames": probe["num_frames"],
        "fps": f"{probe['fps']:.6f}",
        "vfr": int(probe["vfr"]),
        **{k: probe[k] for k in ("width", "height", "rotation", "codec", "pix_fmt", "bit_depth")},
        "has_audio": int(probe["has_audio"]),
        "num_streams": probe["num_streams"],
        "max_keyframe_interval": probe["max_keyframe_interval"],
        "num_chunks": num_chunks,
    }


def write_manifest(
    probe_jsons: Sequence[str | Path],
    chunk_dirs: Sequence[str | Path],
    manifest: str | Path,
    rejected: str | Path,
) -> tuple[int, int]:
    """Merge per-video probe records and chunk folders (same order) into manifest.tsv and rejected.tsv.

    Returns (accepted videos, rejected videos).
    """
    manifest = Path(manifest)
    rows, bad = [], []
    for probe_json, chunk_dir in zip(probe_jsons, chunk_dirs, strict=True):
        with open(probe_json, encoding="utf-8") as handle:
            probed = json.load(handle)
        with open(Path(chunk_dir) / "chunks.json", encoding="utf-8") as handle:
            chunked = json.load(handle)
        uid = probed["video_uid"]
        if not chunked["ok"]:
            bad.append(
                {
                    "video_uid": uid,
                    "path": probed["path"],
                    "stage": chunked["stage"],
                    "reason": _clean(chunked["reason"]),
                }
            )
            continue
        rows.append(_row("video", uid, "", probed["path"], 0.0, probed["probe"], len(chunked["chunks"])))
        for chunk in chunked["chunks"]:
            relative = os.path.relpath(Path(chunk_dir) / chunk["file"], manifest.parent)
            rows.append(
                _row("chunk", uid, chunk["chunk_id"], relative, chunk["start_sec"], chunk["probe"], "")
            )
    for path, columns, records in (
        (manifest, MANIFEST_COLUMNS, rows),
        (Path(rejected), REJECTED_COLUMNS, bad),
    ):
        with atomic_write(path) as handle:
            pd.DataFrame(records, columns=columns).to_csv(handle, sep="\t", index=False, lineterminator="\n")
    return len(rows) - sum(r["row_type"] == "chunk" for r in rows), len(bad)


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read manifest.tsv (chunk paths made absolute); errors name the file, line and column."""
    path = Path(path)
    table = read_table(
        path,
        {"row_type": str, "video_uid": str, "path": str, "start_sec": float, "duration_sec": float},
        sep="\t",
        optional={
            "chunk_id": int,
            "num_frames": int,
            "fps": float,
            "vfr": int,
            "width": int,
            "height": int,
            "num_chunks": int,
        },
        allow_empty=True,
    )
    for row, kind in enumerate(table["row_type"]):
        if kind not in ("video", "chunk"):
            raise InputError(
                path,
                f"row_type must be video or chunk, got {kind!r}",
                line=table.attrs["lines"][row],
                column="row_type",
            )
    chunks = table["row_type"] == "chunk"
    table.loc[chunks, "path"] = [str((path.parent / p).resolve()) for p in table.loc[chunks, "path"]]
    return table
