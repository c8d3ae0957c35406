"""The answer format: a JSON schema per kind, the GBNF grammar that forces it, and validation of parsed answers.

The grammar is built from the schema: fixed key order, no free whitespace and strings of printable ASCII of
bounded length, so a constrained answer always parses and its length in tokens has a known upper bound.
"""

from __future__ import annotations

import json
import re

CLIP_FIELDS = ("Before", "After", "CF 1", "CF 2", "CF 3")
SUMMARY_FIELDS = tuple(f"CF {i}" for i in range(1, 11))


def fields_of(kind: str) -> tuple[str, ...]:
    return CLIP_FIELDS if kind == "clip" else SUMMARY_FIELDS


def answer_schema(kind: str, max_chars: int) -> dict:
    """JSON schema of one answer: an object with exactly the kind's fields, each a non-blank string."""
    text = {"type": "string", "minLength": 1, "maxLength": max_chars, "pattern": r"^[ -~]*$"}
    fields = fields_of(kind)
    return {
        "type": "object",
        "properties": {name: text for name in fields},
        "required": list(fields),
        "additionalProperties": False,
    }


# Printable ASCII without '"' and '\': no escapes to get wrong; the first character is not a space.
_FIRST = r"[\x21\x23-\x5B\x5D-\x7E]"
_REST = r"[\x20\x21\x23-\x5B\x5D-\x7E]"


def grammar_from_schema(schema: dict) -> str:
    """GBNF for an object schema whose properties are all bounded strings, keys in `required` order."""
    parts = []
    lengths = []  # one value rule per distinct maxLength: large {0,n} repetitions expand into many rules
    for index, name in enumerate(schema["required"]):
        spec = schema["properties"][name]
        assert spec["type"] == "string", f"only string properties are supported, {name} is {spec['type']}"
        separator = "" if index == 0 else ", "
        parts.append(json.dumps(f'{separator}"{name}": ') + f" value{spec['maxLength']}")
        lengths.append(spec["maxLength"])
    rules = [f'root ::= "{{" {" ".join(parts)} "}}"']
    for longest in sorted(set(lengths)):
        rules.append(f'value{longest} ::= "\\"" first rest{{0,{longest - 1}}} "\\""')
    rules += [f"first ::= {_FIRST}", f"rest ::= {_REST}"]
    return "\n".join(rules) + "\n"


def longest_answer(schema: dict) -> int:
    """Upper bound on the answer's length in bytes (hence in generated tokens) under the grammar."""
    fixed = 2 + sum(len(f'"{name}": ""') for name in schema["required"]) + 2 * (len(schema["required"]) - 1)
    return fixed + sum(schema["properties"][name]["maxLength"] for name in schema["required"])


def _normal(text: str) -> str:
    """Comparison form: case-folded, whitespace collapsed, narration tags and end punctuation removed."""
    text = re.sub(r"#\w+\s*", "", text)
    return re.sub(r"\s+", " ", text).strip().strip(".!").strip().casefold()


def validate_answer(kind: str, text: str, key: str) -> tuple[dict[str, str] | None, str | None]:
    """Parse and check one raw answer for the item keyed by `key` (narration or summary).

    Returns (fields, None) when the answer is usable, (None, reason) otherwise.
    """
    try:
        answer = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"not valid JSON ({error.msg}, character {error.pos})"
    fields = fields_of(kind)
    if not isinstance(answer, dict):
        return None, "not a JSON object"
    missing = [name for name in fields if name not in answer]
    if missing:
        return None, f"missing fields: {', '.join(missing)}"
    extra = [name for name in answer if name not in fields]
    if extra:
        return None, f"unexpected fields: {', '.join(extra)}"
    for name in fields:
        if not isinstance(answer[name], str) or not answer[name].strip():
            return None, f"empty field {name!r}"
    normal = {name: _normal(answer[name]) for name in fields}
    for name in fields:
        if normal[name] == _normal(key):
            return None, f"field {name!r} copies the {'narration' if kind == 'clip' else 'summary'}"
    # Counterfactuals must differ from each other and, at clip level, from Before and After.
    for i, name in enumerate(fields):
        for other in fields[:i]:
            if normal[name] == normal[other]:
                return None, f"fields {other!r} and {name!r} are the same"
    return {name: answer[name].strip() for name in fields}, None
