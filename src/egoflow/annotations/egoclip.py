"""EgoVLP / HierVL narration formats: egoclip.csv, egosummary_full.csv, summary_clips_hierarchy_full.json,
egomcq.json (and HierVL's summarymcq_full.json, which has the same layout).

egoclip.csv and egosummary_full.csv are tab-separated with ten named columns (video_uid, video_dur,
narration_source, narration_ind, narration_time, clip_start, clip_end, clip_text, tag_verb, tag_noun). Files
written by pandas' `to_csv(sep='\\t')` (CF's egoclip_update.csv) carry an unnamed index column first, and the
EgoVLP README shows a `clip_idx` column: both are dropped, every column is read by name, never by position.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from egoflow.annotations.cells import int_list, nonnegative_float, nonnegative_int
from egoflow.annotations.checks import check_list_ids, check_order
from egoflow.annotations.jsonfile import expect, field, join, load_json
from egoflow.errors import InputError
from egoflow.tables import check_known, read_table

EGOCLIP_COLUMNS = {
    "video_uid": str,
    "video_dur": nonnegative_float,
    "narration_source": str,
    "narration_ind": nonnegative_int,
    "narration_time": nonnegative_float,
    "clip_start": nonnegative_float,
    "clip_end": nonnegative_float,
    "clip_text": str,
    "tag_verb": int_list,  # indices into the Ego4D verb taxonomy parents (118 in EgoVLP)
    "tag_noun": int_list,  # indices into the Ego4D noun taxonomy parents (582 in EgoVLP)
}
INDEX_COLUMNS = ("", "Unnamed: 0", "clip_idx")


def read_egoclip(
    path: str | Path,
    known_videos: Collection[str] | None = None,
    *,
    num_verbs: int | None = None,
    num_nouns: int | None = None,
) -> pd.DataFrame:
    """Read egoclip.csv (or egosummary_full.csv: same columns, one row per summary window)."""
    table = read_table(path, EGOCLIP_COLUMNS, sep="\t")
    for column in INDEX_COLUMNS:
        if column in table.columns:
            del table[column]  # in place: a copy would deep-copy the per-row line numbers in attrs
    check_order(table, "clip_start", "clip_end")
    if known_videos is not None:
        check_known(table, "video_uid", set(known_videos), what="video (not in the video sheet)")
    for column, size in (("tag_verb", num_verbs), ("tag_noun", num_nouns)):
        if size is not None:
            check_list_ids(table, column, range(size), what=f"class id (the taxonomy has {size})")
    return table


def read_egosummary(path: str | Path, known_videos: Collection[str] | None = None) -> pd.DataFrame:
    """HierVL egosummary_full.csv: egoclip columns, clip_start/clip_end = the summary window, tags often '[]'."""
    return read_egoclip(path, known_videos)


@dataclass
class SummaryClips:
    """One summary of summary_clips_hierarchy_full.json: its window and the narrations inside it."""

    summary_start: float
    summary_end: float
    clip_start: list[float]
    clip_end: list[float]
    clip_text: list[str]
    tag_verb: list[list[int]]
    tag_noun: list[list[int]]


# HierVL truncates times to 3 decimals when building the hierarchy, so windows may disagree by up to 1 ms.
TRUNCATION = 1e-3


def read_summary_hierarchy(
    path: str | Path, summaries: pd.DataFrame | None = None
) -> dict[str, SummaryClips]:
    """summary text -> SummaryClips. With `summaries` (egosummary table), every key must be one of its texts."""
    data = expect(path, load_json(path), "dict", "")
    known_texts = set(summaries["clip_text"]) if summaries is not None else None
    hierarchy = {}
    for text, entry in data.items():
        where = join("", text)
        expect(path, entry, "dict", where)
        if known_texts is not None and text not in known_texts:
            raise InputError(path, "summary text is not in the egosummary table", column=where)
        start = field(path, entry, "summary_start", "number", where)
        end = field(path, entry, "summary_end", "number", where)
        if end < start:
            raise InputError(
                path, f"summary_end {end} is before summary_start {start}", column=join(where, "summary_end")
            )
        lists = {
            key: field(path, entry, key, "list", where)
            for key in ("clip_start", "clip_end", "clip_text", "tag_verb", "tag_noun")
        }
        for key, values in lists.items():
            if len(values) != len(lists["clip_start"]):
                raise InputError(
                    path,
                    f"{len(values)} values but {len(lists['clip_start'])} in clip_start",
                    column=join(where, key),
                )
        for i, (clip_start, clip_end) in enumerate(zip(lists["clip_start"], lists["clip_end"], strict=True)):
            expect(path, clip_start, "number", join(join(where, "clip_start"), i))
            expect(path, clip_end, "number", join(join(where, "clip_end"), i))
            if clip_start < start - TRUNCATION or clip_end > end + TRUNCATION or clip_end < clip_start:
                raise InputError(
                    path,
                    f"clip [{clip_start}, {clip_end}] is not inside the summary window [{start}, {end}]",
                    column=join(join(where, "clip_start"), i),
                )
        for i, clip_text in enumerate(lists["clip_text"]):
            expect(path, clip_text, "str", join(join(where, "clip_text"), i))
        tags = {
            key: [tag_cell(path, v, join(join(where, key), i)) for i, v in enumerate(lists[key])]
            for key in ("tag_verb", "tag_noun")
        }
        hierarchy[text] = SummaryClips(
            summary_start=float(start),
            summary_end=float(end),
            clip_start=[float(v) for v in lists["clip_start"]],
            clip_end=[float(v) for v in lists["clip_end"]],
            clip_text=lists["clip_text"],
            tag_verb=tags["tag_verb"],
            tag_noun=tags["tag_noun"],
        )
    return hierarchy


def tag_cell(path: str | Path, value, where: str) -> list[int]:
    """A tag list copied from egoclip.csv: either still its text ("[93]") or already a JSON list."""
    if isinstance(value, str):
        try:
            return int_list(value)
        except ValueError as error:
            raise InputError(path, f"bad tag list {value!r}: {error}", column=where) from None
    expect(path, value, "list", where)
    for i, item in enumerate(value):
        expect(path, item, "int", join(where, i))
    return value


@dataclass
class MCQuestion:
    """One EgoMCQ question: pick which of the choices (EgoClip rows) the query narration describes."""

    key: str
    query: dict  # an EgoClip row; its clip_text is the question
    choices: list[dict]  # EgoClip rows in "0".."4" order: video_uid, clip_start, clip_end, ...
    answer: int  # index into choices
    types: int  # 1 inter-video, 2 intra-video (EgoMCQ); 3 summary (HierVL SummaryMCQ)


MCQ_TYPES = {1, 2, 3}


def read_egomcq(path: str | Path, known_videos: Collection[str] | None = None) -> list[MCQuestion]:
    """egomcq.json: {"0": {"query": row, "choices": {"0".."4": row}, "answer": int, "types": 1|2}, ...}."""
    data = expect(path, load_json(path), "dict", "")
    known = set(known_videos) if known_videos is not None else None
    questions = []
    for key, item in data.items():
        where = join("", key)
        expect(path, item, "dict", where)
        query = field(path, item, "query", "dict", where)
        field(path, query, "clip_text", "str", join(where, "query"))
        choices_map = field(path, item, "choices", "dict", where)
        choices = []
        for i in range(len(choices_map)):
            # Choices are keyed "0".."N-1"; their order is what `answer` indexes.
            choice = field(path, choices_map, str(i), "dict", join(where, "choices"))
            choice_where = join(join(where, "choices"), str(i))
            check_clip_row(path, choice, choice_where, known)
            choices.append(choice)
        answer = field(path, item, "answer", "int", where)
        if not 0 <= answer < len(choices):
            raise InputError(
                path,
                f"answer {answer} is not one of the {len(choices)} choices",
                column=join(where, "answer"),
            )
        types = field(path, item, "types", "int", where)
        if types not in MCQ_TYPES:
            raise InputError(
                path,
                f"types {types} is not 1 (inter-video), 2 (intra-video) or 3 (summary)",
                column=join(where, "types"),
            )
        questions.append(MCQuestion(key=key, query=query, choices=choices, answer=answer, types=types))
    return questions


def check_clip_row(path: str | Path, row: dict, where: str, known: set | None) -> None:
    """A choice must locate its clip: video_uid and a time window (numbers, or numeric text as pandas wrote it)."""
    uid = field(path, row, "video_uid", "str", where)
    if known is not None and uid not in known:
        raise InputError(
            path, f"unknown video (not in the video sheet) {uid!r}", column=join(where, "video_uid")
        )
    for key in ("clip_start", "clip_end"):
        if isinstance(row.get(key), str):
            with contextlib.suppress(ValueError):
                row[key] = float(row[key])
        field(path, row, key, "number", where)
    if row["clip_end"] < row["clip_start"]:
        raise InputError(path, "clip_end is before clip_start", column=join(where, "clip_end"))
