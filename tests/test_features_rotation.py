"""Visual features read the video stage's chunks: a source stored sideways with a display-matrix rotation gives
the features of the same video stored upright, and the store's keys count the SOURCE's frames whatever size and
boundaries the chunks have."""

import subprocess

import numpy as np
import pytest

from egoflow.features.lmdb_store import open_lmdb_readonly, read_meta
from egoflow.features.tiny_models import build_tiny_vit
from egoflow.features.visual_backbone import BackboneConfig, VisualBackbone
from egoflow.features.visual_features import extract_video_features
from egoflow.videos.decoders import open_video
from egoflow.videos.frames import sample_frames
from egoflow.videos.probe import probe_video, write_probe
from egoflow.videos.transcode import ChunkConfig, write_chunks
from tests.videos_synth import FFMPEG, make_video

# Frame N shows N in binary on a 4 x 2 grid of cells (cell b = column + 4 * row white when bit b of N is set):
# big flat cells stay readable after any resize and lossy encoding.
BITS = "floor(X*4/W)+4*floor(Y*2/H)"
GRID = f"format=yuv420p,geq=lum='255*mod(floor(N/pow(2,{BITS})),2)':cb=128:cr=128"


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = build_tiny_vit(tmp_path_factory.mktemp("models") / "tiny-vit")
    return BackboneConfig(architecture="vit", checkpoint=str(path), batch_size=8, device="cpu")


def chunk(src, out_dir, cfg: ChunkConfig):
    """The video stage on one file: probe, then resize + chunk (which applies the display rotation)."""
    probe = out_dir.with_suffix(".json")
    write_probe(src, out_dir.name, probe)
    write_chunks(src, probe, out_dir, cfg)
    return out_dir


def read_store(path) -> dict[str, np.ndarray]:
    env = open_lmdb_readonly(path)
    with env.begin() as txn:
        rows = {key.decode(): np.frombuffer(value, "<f4") for key, value in txn.cursor()}
    env.close()
    return rows


def test_rotated_source_gives_the_upright_features(config, tmp_path):
    upright = make_video(tmp_path / "upright.mp4", seconds=2, extra=["-qp", "0"])  # 320x240, lossless
    # The same video as a phone stores it: pixels turned 90 degrees clockwise (exact on the yuv420p planes,
    # lossless), and a display matrix that turns them 90 degrees counter-clockwise for display. ffmpeg 5.1
    # has no -display_rotation; its `rotate=90` tag on a stream copy writes that matrix (ffprobe: rotation 90,
    # counter-clockwise as the display-matrix convention counts).
    coded = tmp_path / "coded_sideways.mp4"
    turn = ["-vf", "transpose=clock", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"]
    subprocess.run([*FFMPEG, "-i", str(upright), *turn, str(coded)], check=True)
    rotated = tmp_path / "rotated.mp4"
    tag = ["-c", "copy", "-metadata:s:v:0", "rotate=90"]
    subprocess.run([*FFMPEG, "-i", str(coded), *tag, str(rotated)], check=True)
    probe = probe_video(rotated)
    assert (probe.coded_width, probe.coded_height, probe.rotation) == (240, 320, 90)
    assert (probe.width, probe.height) == (320, 240)  # displayed upright
    as_stored = open_video(rotated).get_batch([0, 30])  # [2, 320, 240, 3]: decoders apply no rotation
    np.testing.assert_array_equal(np.rot90(as_stored, 1, axes=(1, 2)), open_video(upright).get_batch([0, 30]))

    cfg = ChunkConfig(chunk_sec=1.0, size=64)
    stores = {}
    for name, src in (("upright", upright), ("rotated", rotated)):
        chunks = chunk(src, tmp_path / "chunks" / name, cfg)
        assert extract_video_features(chunks, "v", tmp_path / name, config, 5.0) == 10  # 2 s at 5 fps
        stores[name] = read_store(tmp_path / name)
    # 1-based at 30 fps: floor(k / 5 * 30) + 1 = 1, 7, ..., 55
    assert sorted(stores["rotated"]) == [f"v_frame_{n:010d}.jpg" for n in range(1, 60, 6)]
    assert sorted(stores["upright"]) == sorted(stores["rotated"])
    # Both chunk sets hold the same pixels (the turn back is exact and both pass through the same scale and
    # encoder), so the features agree to float rounding; 1e-5 is far below the gap to the sideways features.
    for key, value in stores["upright"].items():
        np.testing.assert_allclose(stores["rotated"][key], value, rtol=0, atol=1e-5)
    # What decoding the source gave before: the frames as stored, sideways, with other features.
    sideways = VisualBackbone(config).embed(as_stored[:1])[0]
    assert np.abs(sideways - stores["upright"]["v_frame_0000000001.jpg"]).max() > 0.1


def test_keys_count_source_frames_across_chunks_and_resolution(config, tmp_path):
    src = make_video(tmp_path / "grid.mp4", seconds=2, fps=30, vf=GRID)  # 320x240, 60 frames
    # 256p-style resize to 84x64 and chunks of 0.7 s: frames 0-20, 21-41, 42-59.
    chunks = chunk(src, tmp_path / "chunks", ChunkConfig(chunk_sec=0.7, size=64))
    assert sorted(p.name for p in chunks.glob("*.mp4")) == ["0.mp4", "1.mp4", "2.mp4"]
    expected = [1, 8, 16, 23, 31, 38, 46, 53]  # 4 fps at 30 fps: floor(k / 4 * 30) + 1
    # The frames themselves: the cells of the frame numbered n spell n - 1 (the source's frame index).
    numbers, frames = next(sample_frames(chunks, 4.0))
    assert numbers.tolist() == expected and frames.shape == (8, 64, 84, 3)
    cells = frames[..., 0].reshape(8, 2, 32, 4, 21).mean(axis=(2, 4))  # [8, 2 rows, 4 columns] mean red
    bits = cells.reshape(8, 8) > 128  # [8, 8]: cell b white?
    assert (bits @ (1 << np.arange(8))).tolist() == [n - 1 for n in expected]

    assert extract_video_features(chunks, "v", tmp_path / "store", config, 4.0) == 8
    store = read_store(tmp_path / "store")
    assert sorted(store) == [f"v_frame_{n:010d}.jpg" for n in expected]
    assert read_meta(tmp_path / "store")["video_fps"]["v"] == pytest.approx(30.0, abs=1e-9)
    # Under key n: the features of that frame (batch size aside, the same computation).
    for n, vector in zip(expected, VisualBackbone(config).embed(frames), strict=True):
        np.testing.assert_allclose(store[f"v_frame_{n:010d}.jpg"], vector, rtol=0, atol=1e-5)


def test_rejected_video_gets_an_empty_store(config, tmp_path):
    missing = tmp_path / "missing.mp4"
    probe = tmp_path / "v.json"
    write_probe(missing, "v", probe, on_error="skip")
    write_chunks(missing, probe, tmp_path / "chunks", ChunkConfig(), on_error="skip")
    assert extract_video_features(tmp_path / "chunks", "v", tmp_path / "store", config, 4.0) == 0
    assert read_store(tmp_path / "store") == {} and read_meta(tmp_path / "store")["count"] == 0
