"""Random-access frame decoders for one chunk file: PyAV (default) and decord.

Measured by benchmarks/videos.py (one core, 454x256, 600 s chunks, GOP 16, random 4-frame clips, file opened
per clip): PyAV ~58 clips/s, decord ~8 (decord indexes the whole file on open; ~29 when kept open). PyAV is
therefore the default; decord stays available (`backend="decord"`) and gives the same frames.

Both expose `times` (float64 [N], presentation time of every frame, seconds from the file's first frame) and
`get_batch(indices) -> uint8 [len, H, W, 3]` RGB, and give identical frames (the same FFmpeg decoder and RGB
conversion). benchmarks/videos.py compares their clips/s per core.
"""

from __future__ import annotations

import numpy as np

from egoflow.errors import InputError

BACKENDS = ("pyav", "decord")


class DecordChunk:
    def __init__(self, path: str, num_threads: int = 1):
        import decord  # imported here: reading the manifest must not need a decoder

        try:
            self.reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=num_threads)
        except (RuntimeError, decord.DECORDError) as error:
            raise InputError(path, f"cannot open with decord: {error}") from None
        self.times = self.reader.get_frame_timestamp(np.arange(len(self.reader)))[:, 0].astype(
            np.float64
        )  # [N]

    def get_batch(self, indices: list[int]) -> np.ndarray:
        return self.reader.get_batch(list(indices)).asnumpy()  # [B, H, W, 3]


class PyAVChunk:
    """Seeks to the keyframe before a wanted frame only when decoding forward would take longer.

    `cfr=(num_frames, fps)` (from the manifest, for constant-rate chunks) gives the frame times without reading
    the file's packets, which makes opening a long chunk cheap; VFR chunks read their packet times.
    """

    def __init__(self, path: str, num_threads: int = 1, cfr: tuple[int, float] | None = None):
        import av

        try:
            self.container = av.open(path)
            self.stream = self.container.streams.video[0]
        except (av.FFmpegError, IndexError) as error:
            raise InputError(path, f"cannot open with PyAV: {error}") from None
        self.stream.thread_type = "SLICE" if num_threads > 1 else "NONE"
        self.stream.thread_count = num_threads
        self.base = float(self.stream.time_base)
        self.start_pts = self.stream.start_time or 0
        if cfr is not None:
            num_frames, fps = cfr
            self.times = np.arange(num_frames, dtype=np.float64) / fps  # [N]
        else:
            pts = sorted(p.pts for p in self.container.demux(self.stream) if p.pts is not None)  # no decoding
            self.times = (np.asarray(pts, dtype=np.float64) - pts[0]) * self.base  # [N]
        steps = np.diff(self.times)
        self.tolerance = 0.25 * (steps.min() if len(steps) else 1.0)  # well under one frame

    def get_batch(self, indices: list[int]) -> np.ndarray:
        out: dict[int, np.ndarray] = {}
        frames, current, last = None, None, None
        for index in sorted(set(indices)):
            target = self.times[index]
            if current is None or target < current or target - current > 2.0:
                self.container.seek(
                    self.start_pts + int(target / self.base), stream=self.stream, backward=True
                )
                frames = self.container.decode(self.stream)
            for frame in frames:
                current = (frame.pts - self.start_pts) * self.base
                last = frame
                if current >= target - self.tolerance:
                    break
            out[index] = last.to_ndarray(format="rgb24")  # the last frame if the file ends early
        return np.stack([out[i] for i in indices])  # [B, H, W, 3]


def open_chunk(path: str, backend: str = "pyav", num_threads: int = 1, cfr: tuple[int, float] | None = None):
    """An open chunk; `cfr=(num_frames, fps)` lets PyAV skip reading packet times (decord indexes anyway)."""
    assert backend in BACKENDS, f"backend must be one of {BACKENDS}, got {backend!r}"
    if backend == "decord":
        return DecordChunk(path, num_threads)
    return PyAVChunk(path, num_threads, cfr)
