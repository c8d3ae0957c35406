"""EPIC-KITCHENS-100 formats: action segment CSVs (train / validation / retrieval test / test timestamps),
verb and noun class tables, the retrieval caption table, the retrieval relevancy pickle, RULSTM actions.csv.

Columns are the official names (epic-kitchens-100-annotations README). Timestamps keep their "HH:MM:SS.ff"
text; `start_sec` / `stop_sec` / `narration_sec` are added next to them as seconds.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from egoflow.annotations.cells import int_list, nonnegative_int, str_list, timestamp, timestamp_seconds
from egoflow.annotations.checks import check_list_ids, check_order, check_unique, require_columns
from egoflow.annotations.safe_pickle import load_pickle
from egoflow.errors import InputError
from egoflow.tables import check_known, line_of, read_table

SEGMENT_COLUMNS = {
    "narration_id": str,  # "<video_id>_<index>", unique
    "participant_id": str,
    "video_id": str,
    "start_timestamp": timestamp,
    "stop_timestamp": timestamp,
    "start_frame": nonnegative_int,  # frames at the video's native fps
    "stop_frame": nonnegative_int,
}
LABEL_COLUMNS = {
    "narration": str,
    "verb": str,
    "verb_class": nonnegative_int,
    "noun": str,
    "noun_class": nonnegative_int,
    "all_nouns": str_list,  # "['plate', 'tap']"
    "all_noun_classes": int_list,  # "[2, 0]"
}
# `uid` is in older releases only. narration_timestamp is required in labelled files but 70 real validation rows
# leave it empty, so it is parsed as optional and its presence checked separately.
OPTIONAL_COLUMNS = {"uid": nonnegative_int, "narration_timestamp": timestamp}

CLASS_COLUMNS = {"id": nonnegative_int, "key": str, "instances": str_list, "category": str}


def read_epic_classes(path: str | Path) -> pd.DataFrame:
    """EPIC_100_{verb,noun}_classes.csv: id,key,instances,category with ids 0..N-1 in order (97 verbs, 300 nouns)."""
    table = read_table(path, CLASS_COLUMNS)
    for row, class_id in enumerate(table["id"]):
        if class_id != row:
            raise InputError(
                path,
                f"class ids must run 0..N-1 in order; expected {row}, found {class_id}",
                line=line_of(table, row),
                column="id",
            )
    return table


def read_epic_segments(
    path: str | Path,
    known_videos: Collection[str] | None = None,
    *,
    verb_classes: pd.DataFrame | None = None,
    noun_classes: pd.DataFrame | None = None,
    labelled: bool = True,
) -> pd.DataFrame:
    """EPIC_100_{train,validation,retrieval_test}.csv (labelled) or EPIC_100_test_timestamps.csv (labelled=False)."""
    columns = {**SEGMENT_COLUMNS, **(LABEL_COLUMNS if labelled else {})}
    table = read_table(path, columns, optional=OPTIONAL_COLUMNS)
    if labelled:
        require_columns(table, ["narration_timestamp"])
    check_unique(table, "narration_id")
    table["start_sec"] = table["start_timestamp"].map(timestamp_seconds)
    table["stop_sec"] = table["stop_timestamp"].map(timestamp_seconds)
    if "narration_timestamp" in table.columns:
        # empty cells (pandas keeps them as NaN) have no time
        table["narration_sec"] = [
            timestamp_seconds(t) if isinstance(t, str) else float("nan") for t in table["narration_timestamp"]
        ]
    check_order(table, "start_frame", "stop_frame")
    check_order(table, "start_timestamp", "stop_timestamp", key=timestamp_seconds)
    if known_videos is not None:
        check_known(table, "video_id", set(known_videos), what="video (not in the video sheet)")
    if labelled and verb_classes is not None:
        check_known(
            table, "verb_class", set(verb_classes["id"]), what="verb class (beyond the verb class table)"
        )
    if labelled and noun_classes is not None:
        check_known(
            table, "noun_class", set(noun_classes["id"]), what="noun class (beyond the noun class table)"
        )
        check_list_ids(
            table, "all_noun_classes", noun_classes["id"], what="noun class (beyond the noun class table)"
        )
    if labelled:
        for row, (nouns, classes) in enumerate(
            zip(table["all_nouns"], table["all_noun_classes"], strict=True)
        ):
            if len(nouns) != len(classes):
                raise InputError(
                    path,
                    f"{len(nouns)} nouns in all_nouns but {len(classes)} classes",
                    line=line_of(table, row),
                    column="all_noun_classes",
                )
    return table


SENTENCE_COLUMNS = {"narration_id": str, "narration": str}


def read_epic_sentences(path: str | Path, retrieval_test: pd.DataFrame | None = None) -> pd.DataFrame:
    """EPIC_100_retrieval_test_sentence.csv: one row per unique caption, keyed by a representative narration_id."""
    table = read_table(path, SENTENCE_COLUMNS)
    if retrieval_test is not None:
        check_known(
            table,
            "narration_id",
            set(retrieval_test["narration_id"]),
            what="narration_id (not in the retrieval test split)",
        )
    return table


def read_epic_relevancy(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """caption_relevancy_EPIC_100_retrieval_test.pkl: a pickled [videos x sentences] array with values in [0, 1]
    (JPoSE: 1/2 [same verb class] + 1/2 IoU(noun classes)); 9,668 x 3,842 for the real split."""
    value = load_pickle(path)
    if not isinstance(value, np.ndarray) or value.ndim != 2 or not np.issubdtype(value.dtype, np.number):
        raise InputError(
            path, f"expected a 2-D numeric array, found {type(value).__name__} {getattr(value, 'shape', '')}"
        )
    if shape is not None and value.shape != tuple(shape):
        raise InputError(
            path,
            f"relevancy matrix is {value.shape[0]} x {value.shape[1]}, expected {shape[0]} retrieval clips x {shape[1]} sentences",
        )
    if value.size and not (np.all(np.isfinite(value)) and value.min() >= 0 and value.max() <= 1):
        raise InputError(path, "relevancy values must lie in [0, 1]")
    return value


RULSTM_ACTION_COLUMNS = {
    "id": nonnegative_int,
    "verb": nonnegative_int,
    "noun": nonnegative_int,
    "action": str,
}


def read_rulstm_actions(
    path: str | Path, *, verb_classes: pd.DataFrame | None = None, noun_classes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """RULSTM data/ek100/actions.csv: id,verb,noun,action ("3,0,100,take wrap:plastic"); 3,806 actions.

    The header is optional: S-GEAR's README uses a header-less copy of the same file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    with open(path, encoding="utf-8") as handle:
        first = handle.readline().strip()
    has_header = first.split(",")[0].strip() == "id"
    table = read_table(path, RULSTM_ACTION_COLUMNS, names=None if has_header else list(RULSTM_ACTION_COLUMNS))
    check_unique(table, "id")
    if verb_classes is not None:
        check_known(table, "verb", set(verb_classes["id"]), what="verb class (beyond the verb class table)")
    if noun_classes is not None:
        check_known(table, "noun", set(noun_classes["id"]), what="noun class (beyond the noun class table)")
    for row, text in enumerate(table["action"]):
        if len(text.split(" ")) != 2:
            raise InputError(
                path, f"action {text!r} is not '<verb> <noun>'", line=line_of(table, row), column="action"
            )
    return table
