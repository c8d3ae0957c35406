"""Text features: text sets from their native files, a tiny local FLAVA, deduplicated HDF5 stores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from egoflow.errors import InputError
from egoflow.features.hdf5_store import TextFeatureStore
from egoflow.features.text_encoder import TextEncoder, TextEncoderConfig, encode_texts_to_hdf5
from egoflow.features.text_sets import charades_texts, collect_texts, write_text_set
from egoflow.features.tiny_models import build_tiny_flava

EGOCLIP_HEADER = "video_uid\tvideo_dur\tnarration_source\tnarration_ind\tnarration_time\tclip_start\tclip_end\tclip_text\ttag_verb\ttag_noun\n"


@pytest.fixture(scope="module")
def tiny_flava(tmp_path_factory):
    return build_tiny_flava(tmp_path_factory.mktemp("models") / "tiny-flava")


@pytest.fixture
def clip_inputs(tmp_path):
    egoclip = tmp_path / "egoclip.csv"
    egoclip.write_text(
        EGOCLIP_HEADER
        + "v1\t10\tnarration_pass_1\t0\t1.0\t0.5\t1.5\t#C C cuts the apple\t[1]\t[2]\n"
        + "v1\t10\tnarration_pass_1\t1\t2.0\t1.5\t2.5\t#C C opens the jar\t[3]\t[4]\n"
        + "v1\t10\tnarration_pass_2\t0\t2.1\t1.6\t2.6\t#C C cuts the apple\t[1]\t[2]\n"
    )
    states = tmp_path / "states.json"
    states.write_text(
        json.dumps(
            {
                "#C C cuts the apple": {
                    "Before": "The apple is whole.",
                    "After": "The apple is in halves.",
                    "CF 1": "The apple is still whole.",
                    "CF 2": "The apple is crushed.",
                    "CF 3": "The apple is whole.",  # a repeat: encoded once
                }
            }
        )
    )
    return {"egoclip": egoclip, "states": states}


def test_clip_set_collects_narrations_and_states(clip_inputs):
    texts = collect_texts("clips", clip_inputs)
    assert texts[:3] == ["#C C cuts the apple", "#C C opens the jar", "#C C cuts the apple"]
    assert "The apple is in halves." in texts and "The apple is crushed." in texts
    assert len(set(texts)) == 6


def test_summary_set_collects_order_and_key_counterfactuals(tmp_path):
    summary = tmp_path / "egosummary.csv"
    summary.write_text(
        EGOCLIP_HEADER + "v1\t10\tnarration_pass_1\t0\t0\t0\t10\t#Summary C makes tea\t[]\t[]\n"
    )
    cf = tmp_path / "summary_cf.json"
    entry = {
        "order": {f"CF {i}": f"order {i}" for i in range(1, 11)},
        "key": {f"CF {i}": f"key {i}" for i in range(1, 11)},
    }
    cf.write_text(json.dumps({"#Summary C makes tea": entry}))
    texts = collect_texts("summaries", {"egosummary": summary, "summary_cf": cf})
    assert len(set(texts)) == 21 and "order 10" in texts and "key 1" in texts


def test_bad_inputs_name_file_and_line(tmp_path, clip_inputs):
    (tmp_path / "states.json").write_text('{"a": {"Before": 3}}')
    with pytest.raises(InputError, match="states.json: expected text at 'a/Before'"):
        collect_texts("clips", clip_inputs)
    (tmp_path / "states.json").write_text('{"a": \n}')
    with pytest.raises(InputError, match="states.json, line 2: invalid JSON"):
        collect_texts("clips", clip_inputs)
    classes = tmp_path / "Charades_v1_classes.txt"
    classes.write_text("c000 Holding some clothes\nc001\n")
    with pytest.raises(InputError, match="line 2"):
        charades_texts(classes)


def test_tiny_flava_encodes_unprojected_cls(tiny_flava):
    encoder = TextEncoder(TextEncoderConfig(model=str(tiny_flava), device="cpu"))
    assert encoder.dim == 32
    v = encoder.encode(["take plate", "put the plate down on the board"])
    assert v.shape == (2, 32) and v.dtype == np.float32
    alone = encoder.encode(["take plate"])
    assert np.allclose(v[0], alone[0], atol=1e-5)  # padding does not change a text's vector


def test_text_store_is_deduplicated_and_looks_up_every_text(tiny_flava, clip_inputs, tmp_path):
    config = TextEncoderConfig(model=str(tiny_flava), batch_size=2, device="cpu")
    out = tmp_path / "clips.h5"
    assert write_text_set("clips", clip_inputs, out, config) == 6
    texts = collect_texts("clips", clip_inputs)
    encoder = TextEncoder(config)
    with TextFeatureStore(out) as store:
        assert (
            len(store) == 6 and store.attrs["model"] == str(tiny_flava) and store.attrs["text_set"] == "clips"
        )
        got = store.get(texts)
        assert got.shape == (len(texts), 32)
        assert np.allclose(got, encoder.encode(texts), atol=1e-5)


def test_charades_names_strip_the_class_code(tiny_flava, tmp_path):
    classes = tmp_path / "Charades_v1_classes.txt"
    classes.write_text("c000 Holding some clothes\nc001 Putting clothes somewhere\n")
    assert charades_texts(classes) == ["Holding some clothes", "Putting clothes somewhere"]
    config = TextEncoderConfig(model=str(tiny_flava), device="cpu")
    assert encode_texts_to_hdf5(charades_texts(classes), tmp_path / "c.h5", config) == 2
