"""Frames at a fixed rate for the frame-wise features (visual features, TAS, AE2/CARL phases, S-GEAR), decoded on
the fly from one video's chunk folder (`results/videos/chunks/<uid>/`).

No JPG dump: `sample_frames` decodes (`egoflow.videos.decoders`, through the clip reader) straight into batches,
which the features stage turns into feature stores. The chunks are upright (the video stage applied any
display-matrix rotation) and small (256p), whatever the source. Frame numbers still count the SOURCE's frames,
as the RULSTM convention wants: 1-based, at the source's native rate, so `<video>_frame_<n:010d>.jpg` keys can be
formed from them. This holds because resize_chunk keeps every source frame and its timestamp (`-fps_mode
passthrough`) and checks that chunk k holds exactly the source frames of [k L, (k + 1) L): source frame i is
frame i - (frames of the chunks before k) of chunk k, at source time start_sec + its time in the chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from egoflow.videos.reader import ClipReader, FramePlan, read_chunk_record


def _short_side(width: int, height: int, size: int) -> tuple[int, int]:
    if width <= height:
        return size, max(1, round(height * size / width))
    return max(1, round(width * size / height)), size


def frame_schedule(times: np.ndarray, duration: float, fps: float) -> np.ndarray:
    """For sample times 0, 1/fps, 2/fps, ... < duration, the index of the frame on screen: int64 [N]."""
    assert fps > 0, f"fps must be > 0, got {fps}"
    targets = np.arange(int(np.ceil(duration * fps - 1e-9))) / fps  # [N]
    # Small tolerance: a frame stamped 0.0333332 (float32) is on screen at 1/30 s.
    return np.clip(np.searchsorted(times, targets + 1e-4, side="right") - 1, 0, len(times) - 1).astype(
        np.int64
    )


def source_fps(chunks_dir: str | Path) -> float:
    """The source video's average frame rate (frames / duration), the rate its frame numbers count in.

    The chunks hold every source frame and their durations sum to the source's, so this is the video stage's
    measured rate (probe `fps`) without opening the source.
    """
    chunks = read_chunk_record(chunks_dir)["chunks"]
    return sum(c["probe"]["num_frames"] for c in chunks) / sum(c["probe"]["duration_sec"] for c in chunks)


def sample_frames(
    chunks_dir: str | Path,
    fps: float,
    *,
    size: int | None = None,
    batch: int = 64,
    backend: str = "pyav",
    num_threads: int = 1,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (frame_numbers int64 [B], frames uint8 [B, H, W, 3] RGB) of the video in `chunks_dir`, at `fps`.

    frame_numbers are 1-based in the source's frames; `size` resizes the short side (aspect kept).
    Raises InputError for a folder without chunks.json or a video the video stage rejected.
    """
    record = read_chunk_record(chunks_dir)
    resize = None
    if size is not None and record["chunks"]:
        probe = record["chunks"][0]["probe"]  # every chunk has the same size
        resize = _short_side(probe["width"], probe["height"], size)
    reader = ClipReader.from_chunks(chunks_dir, backend=backend, num_threads=num_threads, size=resize)
    uid = record["video_uid"]
    index = reader.frame_index(uid)  # [N] source frames: chunk, frame in the chunk, source time
    schedule = frame_schedule(index.time_sec, reader.durations[uid], fps)  # [S] source frame indices
    for begin in range(0, len(schedule), batch):
        wanted = schedule[begin : begin + batch]  # [B]
        plan = FramePlan(index.chunk[wanted], index.frame[wanted], index.time_sec[wanted])
        yield wanted + 1, reader.read_plan(uid, plan)
