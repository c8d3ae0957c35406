"""Frames at a fixed rate for the frame-wise tasks (TAS, AE2/CARL phases, S-GEAR features), decoded on the fly.

No JPG dump: `sample_frames` decodes with decord straight into batches, which the features stage turns into
feature stores. Frame numbers follow the RULSTM convention: 1-based, at the file's native frame rate, so
`<video>_frame_<n:010d>.jpg` keys can be formed from them. decord does not apply rotation metadata: pass the
chunks (upright) rather than rotated source files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from egoflow.errors import InputError


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


def sample_frames(
    path: str | Path, fps: float, *, size: int | None = None, batch: int = 64, num_threads: int = 1
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (frame_numbers int64 [B], frames uint8 [B, H, W, 3] RGB) sampled at `fps`.

    frame_numbers are 1-based at the native rate; `size` resizes the short side (aspect kept).
    """
    import decord

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=num_threads)
        if size is not None:
            height, width = reader[0].shape[:2]
            new_w, new_h = _short_side(width, height, size)
            reader = decord.VideoReader(
                str(path), ctx=decord.cpu(0), num_threads=num_threads, width=new_w, height=new_h
            )
    except (RuntimeError, decord.DECORDError) as error:
        raise InputError(path, f"cannot decode: {error}") from None
    if len(reader) == 0:
        raise InputError(path, "zero duration: no frames")
    stamps = reader.get_frame_timestamp(np.arange(len(reader))).astype(np.float64)  # [N, 2] start, end
    times = stamps[:, 0] - stamps[0, 0]
    schedule = frame_schedule(times, stamps[-1, 1] - stamps[0, 0], fps)
    for begin in range(0, len(schedule), batch):
        wanted = schedule[begin : begin + batch]  # [B]
        unique, inverse = np.unique(wanted, return_inverse=True)
        frames = reader.get_batch(unique.tolist()).asnumpy()[inverse]  # [B, H, W, 3]
        yield wanted + 1, frames
