"""The feature-window reader: (video, end time, observed seconds, fps) -> [T, D] from RULSTM/AVT LMDB stores.

The frame rule follows RULSTM / AVT (`EpicRULSTMFeatsReader`, sgear-anticipation.md §4.1):
- the window's last frame is floor(end * source_fps) (frame numbers are 1-based at the source fps);
- T = round(observed * fps) frames, one every round(source_fps / fps) source frames, ending at that frame;
  frames before the video start (< 1) are clamped to frame 1 (AVT pads the front by repetition);
- a frame whose key is missing takes the nearest stored frame up to 9 frames earlier (never later: no future
  leakage); if none of those exist either, the row is zeros.
Several stores (e.g. rgb + flow + obj) are concatenated along D.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from egoflow.errors import InputError
from egoflow.features.lmdb_store import open_lmdb_readonly, read_meta, store_dim

LOOK_BACK = 9  # RULSTM/AVT: try up to 9 earlier frames before giving up


def window_frames(end: float, observed: float, fps: float, source_fps: float) -> np.ndarray:
    """1-based source frame numbers [T] of the window that ends at `end` seconds and spans `observed` seconds."""
    if observed <= 0 or fps <= 0 or source_fps <= 0:
        raise ValueError(f"observed, fps and source_fps must be > 0, got {observed}, {fps}, {source_fps}")
    t = max(1, round(observed * fps))
    step = max(1, round(source_fps / fps))
    last = math.floor(end * source_fps + 1e-6)  # + 1e-6: 2.0 s * 30 fps is frame 60, not 59.99..
    frames = last - step * np.arange(t - 1, -1, -1, dtype=np.int64)  # [T], oldest first
    return np.maximum(frames, 1)


class FeatureWindowReader:
    """Read feature windows from one or more stores (concatenated on D).

    `source_fps` is the frame rate the store's frame numbers count in: a number, a {video_id: fps} mapping, or None
    to take each video's rate from the stores' meta.json (written by this workflow) and 30 fps (RULSTM EK100)
    for videos it does not list.
    """

    def __init__(
        self,
        paths: str | Path | Sequence[str | Path],
        source_fps: float | Mapping[str, float] | None = None,
        default_fps: float = 30.0,
    ):
        paths = [paths] if isinstance(paths, str | Path) else list(paths)
        self.paths = [Path(p) for p in paths]
        self.envs = [open_lmdb_readonly(p) for p in self.paths]
        self.dims = [store_dim(env, p) for env, p in zip(self.envs, self.paths, strict=True)]
        self.dim = sum(self.dims)
        if source_fps is None:
            source_fps = {v: f for p in self.paths for v, f in read_meta(p).get("video_fps", {}).items()}
        self.source_fps = source_fps
        self.default_fps = default_fps

    def _source_fps(self, video_id: str) -> float:
        if isinstance(self.source_fps, Mapping):
            return float(self.source_fps.get(video_id, self.default_fps))
        return float(self.source_fps)

    def read(self, video_id: str, end: float, observed: float, fps: float) -> np.ndarray:
        """[T, D] float32 features of the window of `video_id` ending at `end` seconds."""
        return self.read_batch([(video_id, end)], observed, fps)[0]

    def read_batch(self, queries: Sequence[tuple[str, float]], observed: float, fps: float) -> np.ndarray:
        """[B, T, D] float32 for (video_id, end seconds) queries sharing `observed` and `fps`."""
        frames = self.batch_frames(queries, observed, fps)  # [B, T]
        b, t = frames.shape
        prefixes = {video: f"{video}_frame_".encode() for video, _ in queries}
        # frame_key, inlined: bytes %-formatting is ~3x faster than an f-string + encode per key.
        keys = [
            b"%b%010d.jpg" % (prefixes[video], f)
            for (video, _), row in zip(queries, frames.tolist(), strict=True)
            for f in row
        ]
        out = np.empty((b * t, self.dim), dtype=np.float32)  # [B*T, D]
        offset = 0
        for env, dim, path in zip(self.envs, self.dims, self.paths, strict=True):
            _fill(env, keys, out, offset, dim, path)
            offset += dim
        return out.reshape(b, t, self.dim)  # [B*T, D] -> [B, T, D]

    def batch_frames(self, queries: Sequence[tuple[str, float]], observed: float, fps: float) -> np.ndarray:
        """[B, T] frame numbers of every query's window: `window_frames` vectorised over the batch."""
        if observed <= 0 or fps <= 0:
            raise ValueError(f"observed and fps must be > 0, got {observed}, {fps}")
        t = max(1, round(observed * fps))
        ends = np.array([end for _, end in queries], dtype=np.float64)  # [B]
        if isinstance(self.source_fps, Mapping):
            source = np.array([self._source_fps(video) for video, _ in queries], dtype=np.float64)
        else:
            source = np.full(len(queries), float(self.source_fps))
        step = np.maximum(1, np.round(source / fps)).astype(np.int64)  # [B]
        last = np.floor(ends * source + 1e-6).astype(np.int64)  # [B]
        frames = last[:, None] - step[:, None] * np.arange(t - 1, -1, -1, dtype=np.int64)  # [B, T]
        return np.maximum(frames, 1)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def __enter__(self) -> FeatureWindowReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _fill(env, keys: list[bytes], out: np.ndarray, offset: int, dim: int, path: Path) -> None:
    """Copy the value of each key (or its look-back, or zeros) into out[i, offset:offset + dim]."""
    row_bytes, width = 4 * dim, 4 * out.shape[1]
    # Copy raw bytes straight from the memory map into `out`: no per-row numpy object (the reader's hot loop).
    target = memoryview(out).cast("B")  # [B*T*D*4] bytes of the C-contiguous [B*T, D] float32 array
    with env.begin(buffers=True) as txn:
        get = txn.cursor().get
        for i, key in enumerate(keys):
            value = get(key)
            if value is None:
                value = _look_back(txn, key)
            start = i * width + 4 * offset
            if value is None:
                out[i, offset : offset + dim] = 0
            elif len(value) == row_bytes:
                target[start : start + row_bytes] = value
            else:
                raise InputError(
                    path, f"value of {key.decode()} has {len(value)} bytes, expected {row_bytes}"
                )


def _look_back(txn, key: bytes):
    """Value of the nearest stored frame up to LOOK_BACK frames before `key`'s frame, or None."""
    stem, frame = key[: -len(b"0000000000.jpg")], int(key[-len(b"0000000000.jpg") : -4])
    for earlier in range(frame - 1, max(frame - LOOK_BACK, 1) - 1, -1):
        value = txn.get(stem + f"{earlier:010d}.jpg".encode())
        if value is not None:
            return value
    return None
