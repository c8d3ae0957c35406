"""Clip reading on chunked videos: EgoVLP sampling, chunk boundaries, real fps, equality with ffmpeg decoding;
transforms, the Dataset and frame sampling for the frame-wise tasks."""

import subprocess

import numpy as np
import pytest
import torch

from egoflow.errors import InputError
from egoflow.videos.dataset import ClipDataset, ClipDatasetConfig
from egoflow.videos.frames import sample_frames
from egoflow.videos.manifest import write_manifest
from egoflow.videos.probe import write_probe
from egoflow.videos.reader import ClipReader
from egoflow.videos.sampling import sample_positions
from egoflow.videos.transcode import ChunkConfig, write_chunks
from egoflow.videos.transforms import TransformConfig, eval_transform, train_transform
from tests.videos_synth import make_vfr, make_video


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Three videos chunked at 2 s: 25 fps (5 s), VFR (4 s), 30 fps exactly 4 s; plus one rejected file."""
    root = tmp_path_factory.mktemp("reader")
    sources = {
        "v25": make_video(root / "v25.mp4", seconds=5, fps=25),
        "vfr": make_vfr(root / "vfr.mp4"),
        "v30": make_video(root / "v30.mp4", seconds=4, fps=30),
        "bad": root / "missing.mp4",
    }
    probes, dirs = [], []
    for uid, src in sources.items():
        probes.append(root / "probe" / f"{uid}.json")
        dirs.append(root / "chunks" / uid)
        write_probe(src, uid, probes[-1], on_error="skip")
        write_chunks(src, probes[-1], dirs[-1], ChunkConfig(chunk_sec=2, size=128), on_error="skip")
    assert write_manifest(probes, dirs, root / "manifest.tsv", root / "rejected.tsv") == (3, 1)
    return root


def ffmpeg_frame(path, seconds: float, shape) -> np.ndarray:
    """One RGB frame decoded by the ffmpeg CLI at `seconds` (accurate seek)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds:.6f}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(shape)


def test_sample_positions_egovlp_bins():
    assert sample_positions(30, 4, "test").tolist() == [3, 10, 18, 25]  # bins [0,7) [7,15) [15,22) [22,30)
    rng = np.random.default_rng(0)
    for _ in range(50):
        pos = sample_positions(30, 4, "train", rng)
        assert all(lo <= p < hi for p, lo, hi in zip(pos, [0, 7, 15, 22], [7, 15, 22, 30], strict=True))
    assert sample_positions(2, 4, "test").tolist() == [0, 1, 1, 1]  # pad by repeating the last frame
    with pytest.raises(AssertionError):
        sample_positions(5, 4, "val")


def test_manifest_rows_and_rejected(world):
    text = (world / "manifest.tsv").read_text().splitlines()
    assert sum(line.startswith("video\t") for line in text) == 3
    assert sum(line.startswith("chunk\t") for line in text) == 3 + 2 + 2  # 5 s / 2 -> 3 chunks; 4 s / 2 -> 2
    rejected = (world / "rejected.tsv").read_text().splitlines()
    assert rejected[1].startswith("bad\t") and rejected[1].endswith("\tprobe\tfile not found")


@pytest.mark.parametrize(
    ("uid", "start", "end"), [("v25", 0.3, 1.7), ("v25", 1.5, 2.6), ("vfr", 0.5, 3.5), ("v30", 3.0, 4.0)]
)
@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_test_mode_equals_ffmpeg_at_same_timestamps(world, uid, start, end, backend):
    reader = ClipReader(world / "manifest.tsv", backend=backend)
    plan = reader.plan(uid, start, end, 8, "test")
    clip = reader.read_plan(uid, plan)
    assert clip.dtype == np.uint8 and clip.shape[0] == 8 and clip.shape[-1] == 3
    assert np.all((plan.time_sec >= start - 1e-6) & (plan.time_sec < end))
    for k in range(8):
        entry = reader.chunks[uid][plan.chunk[k]]
        expected = ffmpeg_frame(entry.path, plan.time_sec[k] - entry.start_sec - 1e-3, clip.shape[1:])
        np.testing.assert_array_equal(clip[k], expected)


def test_clip_across_chunk_boundary_uses_both_chunks_and_real_fps(world):
    reader = ClipReader(world / "manifest.tsv")
    plan = reader.plan("v25", 1.5, 2.5, 4, "test")  # frames 1.52 .. 2.48 s: 25 at 25 fps, 12 before the cut
    assert plan.chunk.tolist() == [0, 0, 1, 1]
    # bins [0,6) [6,12) [12,18) [18,25) -> middles 2, 8, 14, 21 -> 1.52 + 0.04 * middle
    np.testing.assert_allclose(plan.time_sec, [1.6, 1.84, 2.08, 2.36], atol=1e-4)
    assert plan.frame.tolist() == [40, 46, 2, 9]  # chunk-local frame indices at 25 fps, not 30
    vfr = reader.plan("vfr", 1.0, 3.0, 4, "test")  # 30 frames at 15 fps
    np.testing.assert_allclose(
        vfr.time_sec, [1.2, 1 + 10 / 15, 2.2, 2 + 10 / 15], atol=1e-4
    )  # middles 3, 10, 18, 25


def test_train_mode_is_random_within_bins_and_reproducible(world):
    reader = ClipReader(world / "manifest.tsv")
    draws = {
        tuple(reader.plan("v25", 0.0, 4.0, 4, "train", np.random.default_rng(s)).time_sec.round(3))
        for s in range(8)
    }
    assert len(draws) > 1
    for times in draws:
        assert all(lo <= t < lo + 1.0 for t, lo in zip(times, [0, 1, 2, 3], strict=True))
    a = reader.read("v25", 0, 4, 4, "train", np.random.default_rng(3))
    b = reader.read("v25", 0, 4, 4, "train", np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_clip_edges(world):
    reader = ClipReader(world / "manifest.tsv")
    assert reader.plan("v30", 3.99, 10.0, 4, "test").time_sec == pytest.approx([3.9667] * 4, abs=1e-3)
    assert reader.plan("v30", 9.0, 10.0, 4, "test").time_sec == pytest.approx([3.9667] * 4, abs=1e-3)
    assert reader.plan("v30", -2.0, 0.05, 4, "test").frame.tolist() == [0, 1, 1, 1]  # 2 frames, last repeated
    with pytest.raises(InputError, match="not in the manifest"):
        reader.plan("bad", 0, 1, 4, "test")


def test_transforms():
    frames = np.random.default_rng(0).integers(0, 256, (4, 256, 340, 3), dtype=np.uint8)
    out = eval_transform(frames)
    assert out.shape == (4, 3, 224, 224) and out.dtype == torch.float32
    mean = np.round(np.array([0.485, 0.456, 0.406]) * 255).astype(np.uint8)
    gray = eval_transform(np.broadcast_to(mean, (2, 256, 340, 3)))  # the ImageNet mean colour -> ~0
    assert gray.abs().max() < 0.05
    gen = torch.Generator().manual_seed(0)
    train = train_transform(frames, TransformConfig(), gen)
    assert train.shape == (4, 3, 224, 224)
    # Same crop and flip for every frame: identical frames stay identical.
    same = train_transform(np.repeat(frames[:1], 4, axis=0), TransformConfig(), gen)
    assert torch.equal(same[0], same[3])
    # A centre crop keeps the middle: a frame whose middle is white and borders black stays white in the middle.
    frame = np.zeros((1, 256, 512, 3), np.uint8)
    frame[:, :, 128:384] = 255
    assert eval_transform(frame)[0, :, 112, 112].min() > 2.0


def test_dataset_items(world):
    data = ClipDataset(
        world / "manifest.tsv", cfg=ClipDatasetConfig(num_frames=4, mode="train", clip_sec=2.0)
    )
    assert len(data) == 3 + 2 + 2  # v25: 0-2, 2-4, 4-5; vfr: 0-2, 2-4; v30: 0-2, 2-4
    item = data[1]
    assert item["video"].shape == (4, 3, 224, 224) and item["video_uid"] == "v25"
    assert torch.equal(item["video"], data[1]["video"])  # seeded per (seed, epoch, index)
    data.set_epoch(1)
    assert not torch.equal(item["video"], data[1]["video"])
    loader = torch.utils.data.DataLoader(data, batch_size=2, num_workers=0)
    assert next(iter(loader))["video"].shape == (2, 4, 3, 224, 224)


def test_sample_frames_rulstm_numbers_across_chunks(world):
    batches = list(sample_frames(world / "chunks" / "v30", 4, batch=6))  # 30 fps, 4 s, chunks of 2 s
    numbers = np.concatenate([n for n, _ in batches])
    # 1-based at 30 fps: floor(k / 4 * 30) + 1; from 61 on (t >= 2 s) the frames come from chunk 1
    assert numbers.tolist() == [1, 8, 16, 23, 31, 38, 46, 53, 61, 68, 76, 83, 91, 98, 106, 113]
    assert [len(n) for n, _ in batches] == [6, 6, 4]
    frames = np.concatenate([f for _, f in batches])
    assert frames.shape == (16, 128, 170, 3) and frames.dtype == np.uint8  # the chunks' size
    chunks = sorted((world / "chunks" / "v30").glob("*.mp4"))
    np.testing.assert_array_equal(frames[8], ffmpeg_frame(chunks[1], 0.0, frames.shape[1:]))  # frame 61
    np.testing.assert_array_equal(frames[9], ffmpeg_frame(chunks[1], 7 / 30 - 1e-3, frames.shape[1:]))  # 68
    small = next(sample_frames(world / "chunks" / "v30", 4, size=64, batch=2))[1]
    assert small.shape == (2, 64, 85, 3)  # short side 64: 170 * 64 / 128 = 85
    vfr = np.concatenate([n for n, _ in sample_frames(world / "chunks" / "vfr", 2)])
    # 15 fps between 1 s and 3 s: at 1.5 s frame index 30 + floor(0.5 * 15) = 37 is on screen -> number 38;
    # chunk 1 starts at frame 45 (30 + 15 frames before 2 s)
    assert vfr.tolist() == [1, 16, 31, 38, 46, 53, 61, 76]
    with pytest.raises(InputError, match=r"rejected by the video stage \(probe\): file not found"):
        next(sample_frames(world / "chunks" / "bad", 1))
    with pytest.raises(InputError, match="not a resize_chunk output folder"):
        next(sample_frames(world / "none", 1))
