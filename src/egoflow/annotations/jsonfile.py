"""Load JSON annotation files and check their keys, failing with the file and the JSON path of the problem.

JSON paths are written like `clips[3].verb_label` or `["0"].choices["4"].video_uid`; they go in the
InputError's `column` so every reader reports a bad key the same way as a bad table column.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from egoflow.errors import InputError

MISSING = object()

# What a key must hold; bool is excluded from "int" and "number" (json true is not a count).
KINDS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "number": (int, float),
    "str": (str,),
    "list": (list,),
    "dict": (dict,),
}


def load_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise InputError(
            path, f"invalid JSON: {error.msg} (character {error.colno})", line=error.lineno
        ) from None
    except UnicodeDecodeError as error:
        raise InputError(path, f"not UTF-8 text: {error}") from None


def join(where: str, key: str | int) -> str:
    """The JSON path of `key` inside the value at `where`."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    if key.isidentifier():
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"


def expect(path: str | Path, value: Any, kind: str, where: str) -> Any:
    """Check that `value` (found at JSON path `where`) is of `kind`; numbers must be finite."""
    types = KINDS[kind]
    if isinstance(value, bool) or not isinstance(value, types):
        raise InputError(
            path, f"expected {kind}, found {type(value).__name__} {value!r:.60}", column=where or "$"
        )
    if kind == "number" and not math.isfinite(value):
        raise InputError(path, f"expected a finite number, found {value!r}", column=where)
    return value


def field(path: str | Path, obj: dict, key: str, kind: str, where: str, default: Any = MISSING) -> Any:
    """`obj[key]` checked to be of `kind`; a missing key is an error unless a default is given."""
    if key not in obj:
        if default is not MISSING:
            return default
        raise InputError(path, "missing key", column=join(where, key))
    return expect(path, obj[key], kind, join(where, key))


def int_list_field(path: str | Path, obj: dict, key: str, where: str) -> list[int]:
    values = field(path, obj, key, "list", where)
    for i, value in enumerate(values):
        expect(path, value, "int", join(join(where, key), i))
    return values
