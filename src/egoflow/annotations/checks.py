"""Row checks shared by the format readers, each failing with the file, line and column of the first problem.

(`egoflow.tables.check_known` covers "unknown id"; these cover the other cross-row rules.)
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from egoflow.errors import InputError
from egoflow.tables import line_of


def require_columns(table: pd.DataFrame, names: Iterable[str]) -> None:
    """For columns whose cells may be empty (so `read_table` takes them as optional) but which must exist."""
    for name in names:
        if name not in table.columns:
            found = ", ".join(table.columns)
            raise InputError(table.attrs["path"], f"missing column (found: {found})", line=1, column=name)


def check_unique(table: pd.DataFrame, column: str) -> None:
    seen: dict = {}
    for row, value in enumerate(table[column]):
        if value in seen:
            raise InputError(
                table.attrs["path"],
                f"duplicate {column} {value!r} (first on line {seen[value]})",
                line=line_of(table, row),
                column=column,
            )
        seen[value] = line_of(table, row)


def check_list_ids(table: pd.DataFrame, column: str, known: Iterable, *, what: str) -> None:
    """Fail on the first list cell holding an id not in `known` (e.g. a class id beyond the class table)."""
    known = set(known)
    for row, ids in enumerate(table[column]):
        for value in ids or ():
            if value not in known:
                raise InputError(
                    table.attrs["path"], f"unknown {what} {value!r}", line=line_of(table, row), column=column
                )


def check_order(table: pd.DataFrame, first: str, last: str, *, key=None) -> None:
    """Fail where `last` is before `first` (stop before start); `key` maps cells to comparable values."""
    key = key or (lambda value: value)
    for row, (a, b) in enumerate(zip(table[first], table[last], strict=True)):
        if key(b) < key(a):
            raise InputError(
                table.attrs["path"],
                f"{last} {b} is before {first} {a}",
                line=line_of(table, row),
                column=last,
            )
