"""Visual features (tiny local ViT) into RULSTM-layout LMDB, and per-class visual prototypes."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from egoflow.features.language_prototypes import write_language_prototypes
from egoflow.features.lmdb_store import LmdbFeatureWriter, frame_key, open_lmdb_readonly, read_meta
from egoflow.features.tiny_models import build_tiny_vit
from egoflow.features.visual_backbone import BackboneConfig, VisualBackbone
from egoflow.features.visual_features import write_frame_features
from egoflow.features.visual_prototypes import VisualPrototypeConfig, build_visual_prototypes, resample_dim


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    path = build_tiny_vit(tmp_path_factory.mktemp("models") / "tiny-vit")
    return VisualBackbone(
        BackboneConfig(architecture="vit", checkpoint=str(path), batch_size=4, device="cpu")
    )


def test_backbone_embeds_frames_of_any_size(backbone):
    assert backbone.dim == 32 and backbone.image_size == 32
    frames = np.random.default_rng(0).integers(0, 256, (5, 48, 64, 3), dtype=np.uint8)
    out = backbone.embed(frames)
    assert out.shape == (5, 32) and out.dtype == np.float32
    assert np.allclose(backbone.embed(frames[2:3]), out[2:3], atol=1e-5)  # batch-independent
    with pytest.raises(ValueError, match=r"\[B, H, W, 3\]"):
        backbone.embed(frames[..., 0])


def test_frame_features_are_keyed_by_native_frame_numbers(backbone, tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (10, 24, 32, 3), dtype=np.uint8)
    numbers = np.arange(1, 60, 6)  # 5 fps of a 30 fps video
    batches = [(numbers[:6], frames[:6]), (np.r_[numbers[6:], numbers[-1]], np.r_[frames[6:], frames[-1:]])]
    count = write_frame_features("P01_01", batches, backbone, tmp_path / "s", source_fps=30.0)
    assert count == 10  # the repeated last frame is stored once
    env = open_lmdb_readonly(tmp_path / "s")
    with env.begin() as txn:
        for i, n in enumerate(numbers):
            value = np.frombuffer(txn.get(frame_key("P01_01", int(n))), "<f4")
            assert np.allclose(value, backbone.embed(frames[i : i + 1])[0], atol=1e-5)
    env.close()
    assert read_meta(tmp_path / "s")["video_fps"] == {"P01_01": 30.0}


def test_resample_dim_keeps_endpoints():
    v = np.array([[0.0, 1.0, 2.0, 3.0]], np.float32)
    assert np.allclose(resample_dim(v, 7), [[0, 0.5, 1, 1.5, 2, 2.5, 3]])
    assert resample_dim(v, 4) is not v and np.array_equal(resample_dim(v, 4), v)


def test_visual_prototypes_are_per_class_means_with_language_fallback(tmp_path):
    # Store: video v, 30 fps, frame f holds [f, 2f]; 3 actions, the third never annotated in a stored video.
    frames = np.arange(1, 601)
    with LmdbFeatureWriter(tmp_path / "store", 2) as writer:
        writer.put("v", frames, np.stack([frames, 2 * frames], axis=1).astype(np.float32))
        writer.video_fps["v"] = 30.0
    actions = pd.DataFrame(
        {"action_id": [0, 1, 2], "verb_class": [0, 0, 1], "noun_class": [0, 1, 0]}
        | {"verb": ["take", "take", "put"], "noun": ["plate", "cup", "plate"]}
        | {"sentence": ["take plate", "take cup", "put plate"]}
    )
    language = np.array([[1, 1, 1, 1], [2, 2, 2, 2], [0, 1, 2, 3]], np.float32)
    write_language_prototypes(tmp_path / "lang.h5", actions, language, "test")
    segments = tmp_path / "EPIC_100_train.csv"
    rows = [
        ("v", "00:00:01.00", "00:00:02.00", 0, 0),
        ("v", "00:00:03.00", "00:00:04.00", 0, 0),
        ("v", "00:00:05.00", "00:00:06.00", 0, 0),  # beyond per_class=2: ignored
        ("v", "00:00:10.00", "00:00:10.10", 0, 1),  # shorter than min_seconds: read as 0.5 s
        ("other", "00:00:01.00", "00:00:02.00", 1, 0),  # video not in the store: ignored
    ]
    segments.write_text(
        "video_id,start_timestamp,stop_timestamp,verb_class,noun_class\n"
        + "".join(",".join(map(str, r)) + "\n" for r in rows)
    )
    config = VisualPrototypeConfig(per_class=2, fps=2.0, min_seconds=0.5)
    counts = build_visual_prototypes(
        [tmp_path / "store"], tmp_path / "lang.h5", [segments], tmp_path / "p.h5", config
    )
    assert counts == {"visual": 2, "language": 1}
    with h5py.File(tmp_path / "p.h5") as f:
        p, count, source = f["prototypes"][()], f["count"][()], [s.decode() for s in f["source"][()]]
    # action 0: windows of 1 s at 2 fps ending at 2 s (frames 45, 60) and at 4 s (frames 105, 120) -> mean 82.5
    assert np.allclose(p[0], [82.5, 165.0])
    # action 1: 0.5 s at 2 fps -> 1 frame, ending at 10.1 s -> frame 303
    assert np.allclose(p[1], [303.0, 606.0])
    assert np.allclose(p[2], [0.0, 3.0])  # language [0, 1, 2, 3] resampled to 2 dims
    assert count.tolist() == [2, 1, 0] and source == ["visual", "visual", "language"]
