"""Probing: real properties of generated edge-case videos, and one clear error per bad-input kind."""

import json
import subprocess

import pytest

from egoflow.errors import InputError
from egoflow.videos.probe import probe_video, write_probe
from tests.videos_synth import make_bad_files, make_odd_10bit, make_rotated, make_vfr, make_video


def ffprobe_frames(path) -> int:
    """Frames counted by decoding, as ffprobe reports them."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(out.stdout.split(",")[0].split()[0])  # rotated files append side-data fields


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return make_bad_files(tmp_path_factory.mktemp("bad"))


def test_plain_video(tmp_path):
    path = make_video(tmp_path / "plain.mp4", seconds=2, fps=25, audio=True)
    probe = probe_video(path)
    assert (probe.width, probe.height, probe.num_frames) == (320, 240, 50)
    assert probe.num_frames == ffprobe_frames(path)
    assert probe.duration_sec == pytest.approx(2.0, abs=1e-3)
    assert probe.fps == pytest.approx(25.0, rel=1e-3) and not probe.vfr
    assert probe.has_audio and probe.audio_codec == "aac" and probe.num_streams == 2
    assert probe.codec == "h264" and probe.bit_depth == 8


def test_portrait_rotation_swaps_displayed_size(tmp_path):
    probe = probe_video(make_rotated(tmp_path / "rot.mp4", tmp_path))
    assert abs(probe.rotation) == 90
    assert (probe.coded_width, probe.coded_height) == (320, 240)
    assert (probe.width, probe.height) == (240, 320)


def test_vfr_real_rate(tmp_path):
    path = make_vfr(tmp_path / "vfr.mp4")
    probe = probe_video(path)
    assert probe.vfr
    assert probe.num_frames == 90 == ffprobe_frames(path)
    assert probe.duration_sec == pytest.approx(4.0, abs=1e-3)
    assert probe.fps == pytest.approx(22.5, rel=1e-3)  # not the 30 fps the header claims
    assert probe.nominal_fps == pytest.approx(30.0)


def test_ten_bit_and_odd_width(tmp_path):
    probe = probe_video(make_odd_10bit(tmp_path / "10bit.mp4"))
    assert probe.bit_depth == 10 and probe.pix_fmt == "yuv444p10le"
    assert (probe.width, probe.height) == (321, 241)


def test_keyframe_interval(tmp_path):
    probe = probe_video(make_video(tmp_path / "gop8.mp4", seconds=2, gop=8, extra=["-sc_threshold", "0"]))
    assert probe.max_keyframe_interval == 8
    assert probe.keyframe_times[:3] == pytest.approx([0.0, 8 / 30, 16 / 30], abs=1e-4)


@pytest.mark.parametrize(
    "kind", ["not found", "empty", "truncated", "truncated ", "not a video", "audio only", "zero duration"]
)
def test_bad_input_names_file_and_reason(bad, kind):
    path = bad[kind]
    with pytest.raises(InputError) as error:
        probe_video(path)
    assert error.value.path == str(path)
    assert kind.strip() in error.value.reason
    assert str(path) in str(error.value)


def test_write_probe_skip_records_reason(bad, tmp_path):
    out = tmp_path / "probe.json"
    record = write_probe(bad["audio only"], "a1", out, on_error="skip")
    assert json.loads(out.read_text()) == record
    assert record["ok"] is False and "audio only" in record["reason"] and record["stage"] == "probe"
    with pytest.raises(InputError):
        write_probe(bad["audio only"], "a1", tmp_path / "other.json", on_error="fail")
    assert not (tmp_path / "other.json").exists()
