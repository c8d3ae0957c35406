"""ChangeIt (soCzech/ChangeIt): a folder with

    categories.csv                  DIR_NAME,ACTION_NAME,CENTERING_PARAM   (44 rows; CENTERING_PARAM = theta)
    labels.csv                      LABEL_ID,MEANING   (0 background, 1 initial state, 2 action, 3 end state)
    videos/<DIR_NAME>.csv           video_id,relevance_score   (no header; one line per video)
    annotations/<DIR_NAME>/<video_id>.fps1.csv   second,label   (no header; one line per second, test only)

Only test videos are annotated; training uses the unannotated rest of each category's list.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from egoflow.annotations.cells import nonnegative_int, probability
from egoflow.annotations.checks import check_unique
from egoflow.errors import InputError
from egoflow.tables import check_known, line_of, read_table

VIDEO_LIST_NAMES = ["video_id", "relevance_score"]
ANNOTATION_NAMES = ["second", "label"]
ANNOTATION_SUFFIX = ".fps1.csv"


@dataclass
class ChangeIt:
    categories: pd.DataFrame  # DIR_NAME, ACTION_NAME, CENTERING_PARAM
    labels: pd.DataFrame  # LABEL_ID, MEANING
    videos: pd.DataFrame  # category, video_id, relevance_score: every category's video list, in file order
    annotations: dict[tuple[str, str], np.ndarray]  # (category, video_id) -> (seconds,) int64 labels


def read_changeit(root: str | Path, known_videos: Collection[str] | None = None) -> ChangeIt:
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "ChangeIt folder not found")
    categories = read_table(
        root / "categories.csv", {"DIR_NAME": str, "ACTION_NAME": str, "CENTERING_PARAM": probability}
    )
    check_unique(categories, "DIR_NAME")
    labels = read_table(root / "labels.csv", {"LABEL_ID": nonnegative_int, "MEANING": str})
    check_unique(labels, "LABEL_ID")
    known = set(known_videos) if known_videos is not None else None

    lists = []
    for row, name in enumerate(categories["DIR_NAME"]):
        path = root / "videos" / f"{name}.csv"
        if not path.is_file():
            raise InputError(
                categories.attrs["path"],
                f"no video list {path}",
                line=line_of(categories, row),
                column="DIR_NAME",
            )
        videos = read_table(path, {"video_id": str, "relevance_score": probability}, names=VIDEO_LIST_NAMES)
        check_unique(videos, "video_id")
        if known is not None:
            check_known(videos, "video_id", known, what="video (not in the video sheet)")
        videos.insert(0, "category", name)
        lists.append(videos)
    for path in sorted((root / "videos").glob("*.csv")):
        if path.stem not in set(categories["DIR_NAME"]):
            raise InputError(path, f"category {path.stem!r} is not in {categories.attrs['path']}")

    in_list = {
        name: set(videos["video_id"]) for name, videos in zip(categories["DIR_NAME"], lists, strict=True)
    }
    label_ids = set(labels["LABEL_ID"])
    annotations = {}
    files = sorted((root / "annotations").glob("*/*")) if (root / "annotations").is_dir() else []
    for path in tqdm(files, desc="ChangeIt annotations", unit="file", disable=len(files) < 100):
        category, video_id = path.parent.name, path.name.removesuffix(ANNOTATION_SUFFIX)
        if not path.name.endswith(ANNOTATION_SUFFIX):
            raise InputError(path, f"annotation files are named <video_id>{ANNOTATION_SUFFIX}")
        if category not in in_list:
            raise InputError(path, f"category {category!r} is not in {categories.attrs['path']}")
        if video_id not in in_list[category]:
            raise InputError(path, f"video {video_id!r} is not in videos/{category}.csv")
        annotations[(category, video_id)] = read_annotation(path, label_ids)
    return ChangeIt(
        categories=categories,
        labels=labels,
        videos=pd.concat(lists, ignore_index=True),
        annotations=annotations,
    )


def read_annotation(path: Path, label_ids: set[int]) -> np.ndarray:
    """One `second,label` line per second, seconds 0, 1, 2, ... in order -> (seconds,) labels."""
    table = read_table(path, {"second": nonnegative_int, "label": nonnegative_int}, names=ANNOTATION_NAMES)
    for row, second in enumerate(table["second"]):
        if second != row:
            raise InputError(
                path,
                f"seconds must run 0, 1, 2, ...; expected {row}, found {second}",
                line=line_of(table, row),
                column="second",
            )
    check_known(table, "label", label_ids, what="label (not in labels.csv)")
    return table["label"].to_numpy(dtype=np.int64)
