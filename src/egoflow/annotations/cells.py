"""Parsers for single cells of the native annotation tables (used as `read_table` column parsers).

Each raises ValueError on bad text; `read_table` turns that into an InputError naming file, line and column.
List-valued cells ("[93]", "[192, 115, 12]", "['tap']") are parsed as literals, never evaluated as code.
"""

from __future__ import annotations

import ast
import json
import re

# EPIC-KITCHENS writes "HH:MM:SS.ff" (two fractional digits in start/stop, three in narration_timestamp).
TIMESTAMP = re.compile(r"(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)")


def timestamp_seconds(text: str) -> float:
    """'00:01:02.50' -> 62.5"""
    match = TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError("not a HH:MM:SS.ff timestamp")
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def timestamp(text: str) -> str:
    """Check a timestamp cell but keep its original text (seconds go in a separate column)."""
    timestamp_seconds(text)
    return text.strip()


def literal(text: str):
    """A JSON or Python literal; JSON first because it is ~10x faster on the millions of EgoClip tag cells."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError("not a list literal") from None


def int_list(text: str) -> list[int]:
    """'[192, 115, 12]' -> [192, 115, 12]; '[]' -> []"""
    value = literal(text)
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ValueError("not a list of integers")
    return list(value)


def str_list(text: str) -> list[str]:
    """ "['tap', 'tap:water']" -> ['tap', 'tap:water']"""
    value = literal(text)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("not a list of strings")
    return list(value)


def nonnegative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("negative")
    return value


def nonnegative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also rejects nan
        raise ValueError("negative or not a number")
    return value


def probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError("not in [0, 1]")
    return value
