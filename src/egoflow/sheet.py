"""The video sheet: which videos the workflow processes (`videos.sheet`, a TSV)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from egoflow.atomic import atomic_write
from egoflow.errors import InputError
from egoflow.tables import line_of, read_table

# A uid becomes a path component under results/: no separators, no leading dot (hidden) or dash (reads as an
# option). A leading "_" is fine: YouTube ids such as ChangeIt's may start with one.
UID_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
SHEET_COLUMNS = {"video_uid": str, "path": str}
OPTIONAL_COLUMNS = {"split": str, "participant_id": str}


def read_sheet(path: str | Path) -> pd.DataFrame:
    """Read and check a video sheet; relative video paths are resolved against the sheet's folder.

    Returns a table indexed by video_uid, in file order, with `path` made absolute.
    """
    path = Path(path)
    table = read_table(path, SHEET_COLUMNS, sep="\t", optional=OPTIONAL_COLUMNS)
    return check_sheet(table, base=path.parent)


def check_sheet(table: pd.DataFrame, *, base: Path) -> pd.DataFrame:
    source = table.attrs.get("path", "<sheet>")
    seen: dict[str, int | None] = {}
    for row, uid in enumerate(table["video_uid"]):
        line = line_of(table, row)
        if not UID_PATTERN.fullmatch(uid) or ".." in uid:
            raise InputError(
                source,
                f"video_uid {uid!r} is not a safe file name (letters, digits, '_', '.', '-'; no '..')",
                line=line,
                column="video_uid",
            )
        if uid in seen:
            raise InputError(
                source,
                f"duplicate video_uid {uid!r} (first on line {seen[uid]})",
                line=line,
                column="video_uid",
            )
        seen[uid] = line
    table = table.copy()
    table["path"] = [str((base / p).resolve()) if not Path(p).is_absolute() else p for p in table["path"]]
    return table.set_index("video_uid", drop=False)


def write_sheet(rows: list[dict], path: str | Path) -> None:
    columns = ["video_uid", "path", *[c for c in OPTIONAL_COLUMNS if any(c in r for r in rows)]]
    with atomic_write(path) as handle:
        handle.write("\t".join(columns) + "\n")
        for row in rows:
            handle.write("\t".join(str(row.get(c, "")) for c in columns) + "\n")
