"""Charades-Ego formats: CharadesEgo_v1_test_only1st.csv (the first-person test videos) and
Charades_v1_classes.txt (157 classes, "c000 Holding some clothes").

The video CSV has Charades' columns (id, subject, scene, quality, relevance, verified, script, objects,
descriptions, actions, length, plus Charades-Ego's egocentric, charades_video); `id` names the video and
`actions` lists "<class> <start> <end>" triples separated by ';' (empty for videos with no action).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from egoflow.annotations.cells import nonnegative_float
from egoflow.annotations.checks import check_unique, require_columns
from egoflow.errors import InputError
from egoflow.tables import check_known, line_of, read_table

CLASS_LINE = re.compile(r"(c\d{3}) (\S.*)")


def read_charades_classes(path: str | Path) -> pd.DataFrame:
    """Charades_v1_classes.txt -> columns id ("c000") and name ("Holding some clothes"), in file order."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            match = CLASS_LINE.fullmatch(line.strip())
            if match is None:
                raise InputError(
                    path,
                    f"expected 'cNNN <class name>', found {line.strip()!r}",
                    line=line_number,
                    column="id",
                )
            rows.append({"id": match[1], "name": match[2], "line": line_number})
    if not rows:
        raise InputError(path, "no classes", line=1)
    table = pd.DataFrame(rows, columns=["id", "name"])
    table.attrs = {"path": str(path), "lines": [r["line"] for r in rows]}
    check_unique(table, "id")
    return table


def parse_actions(text: str) -> list[tuple[str, float, float]]:
    """ "c092 11.90 21.20;c147 0.00 12.60" -> [("c092", 11.9, 21.2), ("c147", 0.0, 12.6)]"""
    actions = []
    for item in text.split(";"):
        parts = item.split()
        if len(parts) != 3 or re.fullmatch(r"c\d{3}", parts[0]) is None:
            raise ValueError(f"{item!r} is not '<cNNN> <start> <end>'")
        actions.append((parts[0], nonnegative_float(parts[1]), nonnegative_float(parts[2])))
    return actions


def read_charades(
    path: str | Path, known_videos: Collection[str] | None = None, *, classes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """CharadesEgo_v1_*.csv; `actions` becomes a list of (class id, start s, end s), [] where empty."""
    table = read_table(path, {"id": str}, optional={"actions": parse_actions, "length": nonnegative_float})
    require_columns(table, ["actions", "length"])
    table["actions"] = [a if isinstance(a, list) else [] for a in table["actions"]]
    check_unique(table, "id")
    if known_videos is not None:
        check_known(table, "id", set(known_videos), what="video (not in the video sheet)")
    if classes is not None:
        known = set(classes["id"])
        for row, actions in enumerate(table["actions"]):
            for class_id, _, _ in actions:
                if class_id not in known:
                    raise InputError(
                        path,
                        f"unknown class {class_id!r} (not in the class list)",
                        line=line_of(table, row),
                        column="actions",
                    )
    return table
