"""Which texts each text-feature set holds. A set is one HDF5 file, `results/features/text/<set>.h5`.

- clips:     EgoClip narrations + their Before / After / CF 1-3 states (states.json)
- summaries: HierVL summaries + their 10 "order" and 10 "key" counterfactuals (summary_cf.json)
- epic:      EPIC-100 verb and noun class names and the retrieval captions
- charades:  Charades class names with the "cXXX " id stripped (as the zero-shot evaluation does)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from egoflow.errors import InputError
from egoflow.features.sentences import noun_phrase
from egoflow.tables import read_table

TEXT_SETS = ("clips", "summaries", "epic", "charades")


def _read_json(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(path, f"invalid JSON: {error.msg}", line=error.lineno) from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a JSON object at the top level", line=1)
    return data


def _strings(path: str | Path, entry: object, where: str) -> list[str]:
    """Every string value of a nested {name: str | {name: str}} entry, in file order."""
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, dict):
        return [s for key, value in entry.items() for s in _strings(path, value, f"{where}/{key}")]
    raise InputError(path, f"expected text at {where!r}, found {type(entry).__name__}")


def clip_texts(egoclip: str | Path, states: str | Path) -> list[str]:
    narrations = read_table(egoclip, {"clip_text": str}, sep="\t")["clip_text"].tolist()
    generated = [
        s
        for narration, entry in _read_json(states).items()
        for s in [narration, *_strings(states, entry, narration)]
    ]
    return narrations + generated


def summary_texts(egosummary: str | Path, summary_cf: str | Path) -> list[str]:
    summaries = read_table(egosummary, {"clip_text": str}, sep="\t")["clip_text"].tolist()
    generated = [
        s
        for summary, entry in _read_json(summary_cf).items()
        for s in [summary, *_strings(summary_cf, entry, summary)]
    ]
    return summaries + generated


def epic_texts(verb_classes: str | Path, noun_classes: str | Path, sentences: str | Path) -> list[str]:
    verbs = read_table(verb_classes, {"id": int, "key": str})["key"].tolist()
    nouns = [noun_phrase(k) for k in read_table(noun_classes, {"id": int, "key": str})["key"]]
    captions = read_table(sentences, {"narration_id": str, "narration": str})["narration"].tolist()
    return verbs + nouns + captions


def charades_texts(classes: str | Path) -> list[str]:
    path = Path(classes)
    if not path.is_file():
        raise InputError(path, "file not found")
    names = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        code, _, name = line.strip().partition(" ")
        if not (code.startswith("c") and code[1:].isdigit() and name):
            raise InputError(path, f"expected 'cNNN class name', found {line!r}", line=line_no)
        names.append(name.strip())
    return names


def collect_texts(name: str, inputs: Mapping[str, str | Path]) -> list[str]:
    """Texts of set `name` from its named input files (the keyword arguments of the set's function)."""
    readers = {
        "clips": clip_texts,
        "summaries": summary_texts,
        "epic": epic_texts,
        "charades": charades_texts,
    }
    if name not in readers:
        raise ValueError(f"unknown text set {name!r}; known: {', '.join(TEXT_SETS)}")
    return readers[name](**inputs)


def write_text_set(name: str, inputs: Mapping[str, str | Path], out: str | Path, config) -> int:
    """Collect the texts of set `name`, encode each distinct one with `config` (a TextEncoderConfig), write `out`."""
    from egoflow.features.text_encoder import encode_texts_to_hdf5

    return encode_texts_to_hdf5(collect_texts(name, inputs), out, config, text_set=name)
