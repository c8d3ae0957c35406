"""Read delimited annotation tables by column name, failing with the file, line and column of the first problem.

Every native format reader goes through `read_table`, so a missing column, a row with the wrong number of
fields or a value of the wrong type is reported the same way everywhere.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from egoflow.errors import InputError

Parser = Callable[[str], Any]


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes"}:
        return True
    if lowered in {"0", "false", "no"}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def read_table(
    path: str | Path,
    columns: Mapping[str, Parser],
    *,
    sep: str = ",",
    optional: Mapping[str, Parser] | None = None,
    names: Sequence[str] | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Read `path` into a DataFrame with `columns` (name -> parser) required and `optional` ones kept if present.

    `names` gives the column names of a header-less file (ChangeIt, RULSTM). Extra columns are kept as strings.
    Empty cells in optional columns become None; in required columns they are an error.
    """
    path = Path(path)
    optional = dict(optional or {})
    if not path.is_file():
        raise InputError(path, "file not found")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=sep)
        if names is None:
            try:
                header = next(reader)
            except StopIteration:
                raise InputError(path, "file is empty (no header line)") from None
            header = [name.strip() for name in header]
            # pandas' to_csv writes an unnamed index column first; EgoVLP files carry one.
            first_data_line = 2
        else:
            header = list(names)
            first_data_line = 1
        for name in columns:
            if name not in header:
                raise InputError(path, f"missing column (found: {', '.join(header)})", line=1, column=name)
        parsers = {**{k: v for k, v in optional.items() if k in header}, **columns}
        rows: list[dict[str, Any]] = []
        lines: list[int] = []
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise InputError(
                    path, f"expected {len(header)} fields, found {len(row)}", line=line, column=None
                )
            record: dict[str, Any] = {}
            for name, text in zip(header, row, strict=True):
                parser = parsers.get(name)
                if parser is None:
                    record[name] = text
                    continue
                if text.strip() == "":
                    if name in columns:
                        raise InputError(path, "empty value in a required column", line=line, column=name)
                    record[name] = None
                    continue
                try:
                    record[name] = parser(text.strip())
                except (ValueError, TypeError) as error:
                    raise InputError(path, f"bad value {text!r}: {error}", line=line, column=name) from None
            rows.append(record)
            lines.append(line)
    if not rows and not allow_empty:
        raise InputError(path, "no data rows", line=first_data_line)
    table = pd.DataFrame(rows, columns=header)
    table.attrs["path"] = str(path)
    table.attrs["lines"] = lines  # source line of each row, for later error messages
    return table


def line_of(table: pd.DataFrame, row: int) -> int | None:
    """Source line of the `row`-th row of a table made by `read_table`."""
    lines = table.attrs.get("lines")
    return lines[row] if lines else None


def check_known(table: pd.DataFrame, column: str, known: set | Mapping, *, what: str) -> None:
    """Fail on the first value of `column` that is not in `known` (an unknown video id, class id, ...)."""
    for row, value in enumerate(table[column]):
        if value not in known:
            raise InputError(
                table.attrs.get("path", "?"),
                f"unknown {what} {value!r}",
                line=line_of(table, row),
                column=column,
            )
