"""The one error type for bad inputs: it always names the file, and the line and column when known."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A user-supplied file (sheet, annotation, video, store) is missing or malformed."""

    def __init__(self, path: str | Path, reason: str, *, line: int | None = None, column: str | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        self.column = column
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {reason}")
