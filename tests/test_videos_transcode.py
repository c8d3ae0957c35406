"""Resize + chunk in one ffmpeg pass: frame-accurate cuts on edge-case videos, copy path, atomic outputs."""

import os
import signal
import subprocess
import sys
import time

import pytest

from egoflow.videos.probe import probe_video, write_probe
from egoflow.videos.transcode import ChunkConfig, already_at_target, ffmpeg_args, target_size, write_chunks
from tests.test_videos_probe import ffprobe_frames
from tests.videos_synth import make_odd_10bit, make_rotated, make_vfr, make_video


def chunk(src, out_dir, tmp_path, **cfg):
    probe_json = tmp_path / "probe.json"
    write_probe(src, "v", probe_json)
    return write_chunks(src, probe_json, out_dir, ChunkConfig(**cfg), threads=2)


def check_chunks(src, out_dir, record, chunk_sec):
    """The acceptance checks: contiguous names, no empty chunk, durations and decoded frame counts add up."""
    source = probe_video(src)
    files = sorted(p.name for p in out_dir.glob("*.mp4"))
    expected = -(-source.duration_sec // chunk_sec)  # ceil
    assert files == [f"{k}.mp4" for k in range(int(expected))]
    chunks = record["chunks"]
    assert all(c["probe"]["num_frames"] > 0 for c in chunks)
    total = sum(c["probe"]["duration_sec"] for c in chunks)
    assert total == pytest.approx(source.duration_sec, abs=1 / source.fps)
    assert sum(ffprobe_frames(out_dir / f) for f in files) == ffprobe_frames(src)
    for c in chunks:
        assert (
            int(c["start_sec"] // chunk_sec) == c["chunk_id"]
        )  # first frame belongs to chunk k = floor(t / L)
        assert c["probe"]["pix_fmt"] == "yuv420p" and c["probe"]["rotation"] == 0
    return chunks


def test_landscape_with_audio_and_awkward_names(tmp_path):
    src = make_video(tmp_path / "a b;c'q\"é ü.mp4", seconds=5, fps=25, audio=True)
    out = tmp_path / "out 100% ;'x" / "v"
    record = chunk(src, out, tmp_path, chunk_sec=2, keep_audio=True)
    chunks = check_chunks(src, out, record, 2)
    assert [c["probe"]["num_frames"] for c in chunks] == [50, 50, 25]
    assert all((c["probe"]["width"], c["probe"]["height"]) == (340, 256) for c in chunks)
    assert all(c["probe"]["has_audio"] and c["probe"]["max_keyframe_interval"] <= 16 for c in chunks)
    assert sorted(p.name for p in out.iterdir()) == ["0.mp4", "1.mp4", "2.mp4", "chunks.json"]


def test_exact_multiple_has_no_empty_trailing_chunk(tmp_path):
    src = make_video(tmp_path / "four.mp4", seconds=4, fps=30)
    record = chunk(src, tmp_path / "v", tmp_path, chunk_sec=2)
    assert [c["probe"]["num_frames"] for c in check_chunks(src, tmp_path / "v", record, 2)] == [60, 60]


def test_portrait_height_and_short_side(tmp_path):
    src = make_rotated(tmp_path / "rot.mp4", tmp_path)
    record = chunk(src, tmp_path / "h", tmp_path, chunk_sec=1.5)
    chunks = check_chunks(src, tmp_path / "h", record, 1.5)
    assert (chunks[0]["probe"]["width"], chunks[0]["probe"]["height"]) == (192, 256)  # upright, EgoVLP height
    record = chunk(src, tmp_path / "s", tmp_path, chunk_sec=1.5, resize="short_side")
    assert (record["chunks"][0]["probe"]["width"], record["chunks"][0]["probe"]["height"]) == (256, 340)


def test_odd_width_ten_bit(tmp_path):
    src = make_odd_10bit(tmp_path / "odd10.mp4", seconds=3)
    record = chunk(src, tmp_path / "v", tmp_path, chunk_sec=2, size=128)
    chunks = check_chunks(src, tmp_path / "v", record, 2)
    assert (chunks[0]["probe"]["width"], chunks[0]["probe"]["height"]) == (170, 128)  # floor(128*321/241/2)*2
    assert chunks[0]["probe"]["bit_depth"] == 8


def test_variable_frame_rate_cuts_on_time(tmp_path):
    src = make_vfr(tmp_path / "vfr.mp4")  # 30 fps for 1 s, 15 fps for 2 s, 30 fps for 1 s
    record = chunk(src, tmp_path / "v", tmp_path, chunk_sec=1)
    chunks = check_chunks(src, tmp_path / "v", record, 1)
    assert [c["probe"]["num_frames"] for c in chunks] == [30, 15, 15, 30]
    assert [c["start_sec"] for c in chunks] == pytest.approx([0, 1, 2, 3], abs=1e-4)


def test_video_at_target_is_copied_unless_asked(tmp_path):
    src = make_video(
        tmp_path / "ready.mp4",
        seconds=4,
        fps=25,
        size="340x256",
        gop=25,
        extra=["-sc_threshold", "0", "-bf", "0"],
    )
    cfg = ChunkConfig(chunk_sec=2, keyframe_interval=25)
    assert target_size(probe_video(src), cfg) == (340, 256) and already_at_target(probe_video(src), cfg)
    assert "copy" in ffmpeg_args(src, tmp_path, probe_video(src), cfg)
    record = chunk(src, tmp_path / "copy", tmp_path, chunk_sec=2, keyframe_interval=25)
    assert record["mode"] == "copy"
    check_chunks(src, tmp_path / "copy", record, 2)
    record = chunk(src, tmp_path / "again", tmp_path, chunk_sec=2, keyframe_interval=25, reencode=True)
    assert record["mode"] == "reencode"
    # A cut point that is not a keyframe cannot be copied frame-accurately.
    assert not already_at_target(probe_video(src), ChunkConfig(chunk_sec=1.5, keyframe_interval=25))


def test_killed_ffmpeg_leaves_no_trusted_chunk(tmp_path):
    src = make_video(tmp_path / "long.mp4", seconds=20)
    out = tmp_path / "chunks" / "v"
    code = (
        "import json, sys; from pathlib import Path; from egoflow.videos.transcode import ChunkConfig, write_chunks;"
        "from egoflow.videos.probe import write_probe;"
        f"p = Path({str(tmp_path / 'probe.json')!r}); write_probe({str(src)!r}, 'v', p);"
        f"write_chunks({str(src)!r}, p, {str(out)!r}, ChunkConfig(chunk_sec=1, preset='slow'), threads=1)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.monotonic() + 60
    while not any(out.parent.glob(".v.tmp-*/1.mp4")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the job finished before it could be killed: make the video longer"
    os.killpg(proc.pid, signal.SIGKILL)  # the job and its ffmpeg, as SLURM does on timeout
    proc.wait()
    assert not out.exists()  # only a hidden temporary folder remains, which nothing trusts
    record = chunk(src, out, tmp_path, chunk_sec=10, preset="ultrafast")  # a rerun starts clean
    check_chunks(src, out, record, 10)


def test_audio_starting_before_video_keeps_cuts(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=4)
    src = tmp_path / "late.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=4", "-itsoffset", "0.2", "-i", str(video),
         "-map", "1:v", "-map", "0:a", "-c:v", "copy", "-c:a", "aac", str(src)],
        check=True,
    )  # fmt: skip
    assert probe_video(src).start_sec == pytest.approx(0.2)
    for keep_audio in (False, True):
        out = tmp_path / f"audio{keep_audio}"
        record = chunk(src, out, tmp_path, chunk_sec=1, keep_audio=keep_audio)
        assert [c["probe"]["num_frames"] for c in check_chunks(src, out, record, 1)] == [30, 30, 30, 30]
