"""The feature-window reader: RULSTM frame rule, 9-frame look-back, zeros, concatenation, batched reads."""

from __future__ import annotations

import numpy as np
import pytest

from egoflow.features.lmdb_store import LmdbFeatureWriter
from egoflow.features.window import FeatureWindowReader, window_frames


def frame_valued_store(path, video, frames, dim=3, scale=1.0):
    """Every stored row is [frame, frame, ...] * scale, so a read shows which frame it came from."""
    frames = np.asarray(frames)
    with LmdbFeatureWriter(path, dim) as writer:
        writer.put(video, frames, np.repeat(frames[:, None] * scale, dim, axis=1))
    return path


def test_window_frames_follow_the_rulstm_rule():
    # 2 s at 1 fps ending at 10 s, 30 fps frame numbers: frames 270 and 300 (the last is floor(10 * 30)).
    assert window_frames(10.0, 2.0, 1.0, 30.0).tolist() == [270, 300]
    # step = round(30 / 4) = 8 source frames; T = 4
    assert window_frames(10.0, 1.0, 4.0, 30.0).tolist() == [276, 284, 292, 300]
    # float rounding: 2.0 s at 30 fps is frame 60, not 59
    assert window_frames(2.0, 0.1, 10.0, 30.0).tolist() == [60]
    # before the video start: clamped to frame 1 (front padding by repetition)
    assert window_frames(0.05, 1.0, 5.0, 30.0).tolist() == [1, 1, 1, 1, 1]
    with pytest.raises(ValueError):
        window_frames(1.0, 0.0, 1.0, 30.0)


def test_missing_frames_look_back_up_to_nine_then_zeros(tmp_path):
    # frames 1..100 stored except 41..60: 41..49 fall back to 40 (<= 9 back), 50..60 find nothing -> zeros
    stored = [f for f in range(1, 101) if not 41 <= f <= 60]
    store = frame_valued_store(tmp_path / "s", "v", stored)
    with FeatureWindowReader(store, source_fps=30.0) as reader:
        window = reader.read("v", end=65 / 30, observed=26 / 30, fps=30.0)  # frames 40..65
        got = window[:, 0].tolist()
    expected = [40] + [40] * 9 + [0] * 11 + [61, 62, 63, 64, 65]
    assert got == expected
    assert window.dtype == np.float32 and window.shape == (26, 3)


def test_look_back_never_reads_the_future(tmp_path):
    store = frame_valued_store(tmp_path / "s", "v", [10, 12])
    with FeatureWindowReader(store, source_fps=30.0) as reader:
        assert reader.read("v", end=11 / 30, observed=1 / 30, fps=30.0)[:, 0].tolist() == [10]  # not 12
        assert reader.read("v", end=9 / 30, observed=1 / 30, fps=30.0)[:, 0].tolist() == [0]


def test_sparse_extraction_is_found_by_look_back(tmp_path):
    # features extracted at 5 fps of a 30 fps video: frames 1, 7, 13, ... any query frame finds one <= 5 back
    store = frame_valued_store(tmp_path / "s", "v", np.arange(1, 300, 6))
    with FeatureWindowReader(store, source_fps=30.0) as reader:
        window = reader.read("v", end=5.0, observed=2.0, fps=2.0)
    assert (window[:, 0] > 0).all()
    # T = 4 frames, 15 apart, ending at frame 150: 105, 120, 135, 150 -> nearest stored 6k+1 at or before each
    assert window[:, 0].tolist() == [103, 115, 133, 145]


def test_stores_concatenate_and_batch_equals_single_reads(tmp_path):
    frames = np.arange(1, 200)
    a = frame_valued_store(tmp_path / "a", "v", frames, dim=3)
    b = frame_valued_store(tmp_path / "b", "v", frames, dim=2, scale=-1.0)
    queries = [("v", 1.0), ("v", 3.3), ("v", 6.0), ("v", 0.2)]
    with FeatureWindowReader([a, b], source_fps=30.0) as reader:
        assert reader.dim == 5
        batch = reader.read_batch(queries, observed=1.0, fps=4.0)
        assert batch.shape == (4, 4, 5)
        for i, (video, end) in enumerate(queries):
            single = reader.read(video, end, 1.0, 4.0)
            assert np.array_equal(batch[i], single)
            frames_expected = np.minimum(window_frames(end, 1.0, 4.0, 30.0), 199)
            assert np.array_equal(single[:, 0], frames_expected.astype(np.float32))
            assert np.array_equal(single[:, 3], -frames_expected.astype(np.float32))


def test_per_video_fps_comes_from_meta(tmp_path):
    with LmdbFeatureWriter(tmp_path / "s", 1) as writer:
        writer.put("v25", np.arange(1, 101), np.arange(1, 101, dtype=np.float32)[:, None])
        writer.put("rulstm", np.arange(1, 101), np.arange(1, 101, dtype=np.float32)[:, None])
        writer.video_fps["v25"] = 25.0
    with FeatureWindowReader(tmp_path / "s") as reader:
        assert reader.read("v25", 2.0, 1 / 25, 25.0)[:, 0].tolist() == [50]  # 2 s at 25 fps
        assert reader.read("rulstm", 2.0, 1 / 30, 30.0)[:, 0].tolist() == [60]  # unlisted: 30 fps default


def test_cli_reads_a_window(tmp_path, capsys):
    from egoflow.cli import main

    frame_valued_store(tmp_path / "s", "P01_01", np.arange(1, 301))
    assert (
        main(
            [
                "feature-window",
                "P01_01",
                "5.0",
                "--store",
                str(tmp_path / "s"),
                "--observed",
                "2",
                "--fps",
                "2",
            ]
        )
        == 0
    )
    assert "window (4, 3) float32, 0 zero rows" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["feature-window", "--help"])
    assert "RULSTM frame rule" in capsys.readouterr().out
