"""The one decoding module: PyAV and decord agree on frame times, durations and frames (VFR included), resize on
request, and name the file when it cannot be read; the report's frames come through it."""

import numpy as np
import pytest

from egoflow.errors import InputError
from egoflow.report.frames import grab_frame
from egoflow.videos.decoders import BACKENDS, frame_size, open_video
from tests.videos_synth import make_vfr, make_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("decoders")
    return {"cfr": make_video(root / "cfr.mp4", seconds=2, fps=25), "vfr": make_vfr(root / "vfr.mp4")}


def test_backends_agree_on_times_duration_and_frames(videos):
    pyav, decord = (open_video(videos["vfr"], backend) for backend in BACKENDS)
    # 1 s at 30 fps, 2 s at 15 fps, 1 s at 30 fps: 30 + 30 + 30 frames over 4 s
    expected = np.r_[np.arange(30) / 30, 1 + np.arange(30) / 15, 3 + np.arange(30) / 30]
    for video in (pyav, decord):
        np.testing.assert_allclose(video.times, expected, atol=1e-4)
        assert video.duration == pytest.approx(4.0, abs=1e-4)
    indices = [89, 0, 45, 45, 31]  # out of order and repeated
    frames = pyav.get_batch(indices)
    assert frames.shape == (5, 240, 320, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, decord.get_batch(indices))
    assert not np.array_equal(frames[1], frames[2])


def test_constant_rate_times_without_reading_packets(videos):
    read = open_video(videos["cfr"])
    given = open_video(videos["cfr"], cfr=(50, 25.0))
    np.testing.assert_allclose(given.times, read.times, atol=1e-6)  # 0, 0.04, ..., 1.96
    assert given.duration == read.duration == pytest.approx(2.0)
    np.testing.assert_array_equal(given.get_batch([7, 49]), read.get_batch([7, 49]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_resize_and_unreadable_files(videos, backend, tmp_path):
    assert frame_size(videos["cfr"]) == (320, 240)
    assert open_video(videos["cfr"], backend, size=(160, 120)).get_batch([3]).shape == (1, 120, 160, 3)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    for path in (text, tmp_path / "missing.mp4"):
        with pytest.raises(InputError, match="cannot open") as error:
            open_video(path, backend)
        assert str(path) in str(error.value)
    with pytest.raises(InputError, match="cannot read the video stream"):
        frame_size(text)


def test_report_frames_come_through_the_decoders(videos, tmp_path):
    big = make_video(tmp_path / "big.mp4", seconds=1, size="640x480", fps=25)
    frame = grab_frame(big, 0.5, max_width=320)  # the first frame at or after 0.5 s: 13 / 25 = 0.52 s
    assert frame.shape == (240, 320, 3)
    np.testing.assert_array_equal(frame, open_video(big, size=(320, 240)).get_batch([13])[0])
    assert grab_frame(big, 9.0).shape == (240, 320, 3)  # past the end: the last frame
    assert grab_frame(videos["cfr"], 0.0, max_width=400).shape == (240, 320, 3)  # not enlarged
    assert grab_frame(tmp_path / "missing.mp4", 0.0) is None
