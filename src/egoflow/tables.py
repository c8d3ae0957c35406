"""Read delimited annotation tables by column name, failing with the file, line and column of the first problem.

Every native format reader goes through `read_table`, so a missing column, a row with the wrong number of
fields or a value of the wrong type is reported the same way everywhere.

Two passes share one contract: pandas' C parser reads a well-formed file fast (EgoClip has 3.8M rows), and the
first sign of trouble hands the file to a line-by-line reader that finds and names the exact bad cell.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from egoflow.errors import InputError

Parser = Callable[[str], Any]
INT_TEXT = r"\s*[-+]?\d+\s*"


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes"}:
        return True
    if lowered in {"0", "false", "no"}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


class _Malformed(Exception):
    """The fast pass met something it cannot explain precisely; the careful pass will."""


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
    try:
        table = _read_fast(path, columns, sep=sep, optional=optional, names=names)
    except _Malformed:
        table = _read_careful(path, columns, sep=sep, optional=optional, names=names)
    if table.empty and not allow_empty:
        raise InputError(path, "no data rows", line=1 if names is not None else 2)
    table.attrs["path"] = str(path)
    table.attrs["sep"] = sep
    table.attrs["has_header"] = names is None
    return table


def _check_header(path: Path, header: list[str], columns: Mapping[str, Parser]) -> None:
    for name in columns:
        if name not in header:
            raise InputError(path, f"missing column (found: {', '.join(header)})", line=1, column=name)


def _read_fast(path, columns, *, sep, optional, names) -> pd.DataFrame:
    try:
        raw = pd.read_csv(
            path,
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        if names is None:
            raise InputError(path, "file is empty (no header line)") from None
        return pd.DataFrame(columns=list(names))
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError):
        raise _Malformed from None
    if names is None:
        header = [str(name).strip() for name in raw.iloc[0]]
        raw = raw.iloc[1:].reset_index(drop=True)
    else:
        header = list(names)
    _check_header(path, header, columns)
    if raw.shape[1] != len(header) or raw.isna().to_numpy().any():
        raise _Malformed  # a row with too few or too many fields
    raw.columns = header
    parsers = {**{k: v for k, v in optional.items() if k in header}, **columns}
    for name, parser in parsers.items():
        raw[name] = _parse_column(raw[name], parser, required=name in columns)
    return raw


def _parse_column(text: pd.Series, parser: Parser, *, required: bool) -> pd.Series:
    stripped = text.str.strip()
    empty = stripped == ""
    if required and empty.any():
        raise _Malformed
    if parser is str:
        return stripped.where(~empty, None)
    if parser is int and not empty.any():
        if not stripped.str.fullmatch(INT_TEXT).all():
            raise _Malformed
        return stripped.astype(np.int64)
    if parser is float and not empty.any():
        try:
            return pd.to_numeric(stripped, errors="raise").astype(np.float64)
        except (ValueError, TypeError):
            raise _Malformed from None
    try:
        return pd.Series(
            [None if e else parser(s) for s, e in zip(stripped, empty, strict=True)], dtype=object
        )
    except (ValueError, TypeError, SyntaxError):
        raise _Malformed from None


def _read_careful(path, columns, *, sep, optional, names) -> pd.DataFrame:
    """Line by line; raises InputError at the first bad field count or value, with its line and column."""
    with open(path, newline="", encoding="utf-8", errors="strict") as handle:
        reader = csv.reader(handle, delimiter=sep)
        try:
            header = [name.strip() for name in next(reader)] if names is None else list(names)
        except StopIteration:
            raise InputError(path, "file is empty (no header line)") from None
        except UnicodeDecodeError as error:
            raise InputError(path, f"not UTF-8 text: {error}") from None
        _check_header(path, header, columns)
        parsers = {**{k: v for k, v in optional.items() if k in header}, **columns}
        rows: list[dict[str, Any]] = []
        try:
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    raise InputError(path, f"expected {len(header)} fields, found {len(row)}", line=line)
                rows.append(_parse_row(path, line, header, row, parsers, columns))
        except UnicodeDecodeError as error:
            raise InputError(path, f"not UTF-8 text: {error}", line=reader.line_num + 1) from None
        except csv.Error as error:
            raise InputError(path, f"malformed row: {error}", line=reader.line_num) from None
    return pd.DataFrame(rows, columns=header)


def _parse_row(path, line, header, row, parsers, required) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, text in zip(header, row, strict=True):
        parser = parsers.get(name)
        if parser is None:
            record[name] = text
        elif text.strip() == "":
            if name in required:
                raise InputError(path, "empty value in a required column", line=line, column=name)
            record[name] = None
        else:
            try:
                record[name] = parser(text.strip())
            except (ValueError, TypeError, SyntaxError) as error:
                raise InputError(path, f"bad value {text!r}: {error}", line=line, column=name) from None
    return record


def line_of(table: pd.DataFrame, row: int) -> int | None:
    """Source line of the `row`-th row of a table made by `read_table` (found on demand: errors are rare)."""
    lines = table.attrs.get("lines")
    if lines is None and "path" in table.attrs:
        lines = _data_lines(Path(table.attrs["path"]), table.attrs["sep"], table.attrs["has_header"])
        table.attrs["lines"] = lines
    return lines[row] if lines is not None and row < len(lines) else None


def _data_lines(path: Path, sep: str, has_header: bool) -> list[int]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=sep)
        if has_header:
            next(reader, None)
        return [reader.line_num for row in reader if row and not (len(row) == 1 and not row[0].strip())]


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
