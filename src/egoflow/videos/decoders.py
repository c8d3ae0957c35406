"""The one module that opens and decodes video files: PyAV (default) and decord (`backend="decord"`).

Every frame the package reads comes through `open_video`: clips (`reader.py`), frames at a fixed rate for the
frame-wise features (`frames.py`), the report's sample frames (`report/frames.py`).

Measured by benchmarks/videos.py (one core, 454x256, 600 s chunks, GOP 16, random 4-frame clips, file opened
per clip): PyAV ~58 clips/s, decord ~8 (decord indexes the whole file on open; ~29 when kept open). PyAV is
therefore the default; decord stays available and gives the same frames (the same FFmpeg decoder and RGB
conversion) when they are not resized.

A decoder exposes `times` (float64 [N], presentation time of every frame, seconds from the file's first frame),
`duration` (seconds from the first frame's start to the last frame's end) and
`get_batch(indices) -> uint8 [len, H, W, 3]` RGB. Neither backend applies display-matrix rotation: read the
video stage's chunks (upright), not rotated sources.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from egoflow.errors import InputError

BACKENDS = ("pyav", "decord")


def frame_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of the decoded frames of the first video stream, from the header (nothing decoded)."""
    import av

    try:
        with av.open(str(path)) as container:
            codec = container.streams.video[0].codec_context
            return codec.width, codec.height
    except (av.FFmpegError, IndexError) as error:
        raise InputError(path, f"cannot read the video stream with PyAV: {error}") from None


class DecordVideo:
    def __init__(self, path: str, num_threads: int = 1, size: tuple[int, int] | None = None):
        import decord  # imported here: reading the manifest must not need a decoder

        width, height = size or (-1, -1)  # -1: as stored
        try:
            self.reader = decord.VideoReader(
                path, ctx=decord.cpu(0), num_threads=num_threads, width=width, height=height
            )
        except (RuntimeError, decord.DECORDError) as error:
            raise InputError(path, f"cannot open with decord: {error}") from None
        if len(self.reader) == 0:
            raise InputError(path, "zero duration: no frames")
        stamps = self.reader.get_frame_timestamp(np.arange(len(self.reader))).astype(np.float64)  # [N, 2]
        self.times = stamps[:, 0] - stamps[0, 0]  # [N] start of each frame
        self.duration = float(stamps[-1, 1] - stamps[0, 0])

    def get_batch(self, indices: list[int]) -> np.ndarray:
        return self.reader.get_batch(list(indices)).asnumpy()  # [B, H, W, 3]


class PyAVVideo:
    """Seeks to the keyframe before a wanted frame only when decoding forward would take longer.

    `cfr=(num_frames, fps)` (from the manifest, for constant-rate chunks) gives the frame times without reading
    the file's packets, which makes opening a long chunk cheap; VFR files read their packet times.
    """

    def __init__(
        self,
        path: str,
        num_threads: int = 1,
        cfr: tuple[int, float] | None = None,
        size: tuple[int, int] | None = None,
    ):
        import av

        self.path = path
        self.size = size  # (width, height) of the returned frames; None = as stored
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
            self.duration = num_frames / fps
        else:
            packets = sorted(
                (p.pts, p.duration or 0) for p in self.container.demux(self.stream) if p.pts is not None
            )  # read, not decoded
            if not packets:
                raise InputError(path, "zero duration: no frames")
            pts = np.asarray([p for p, _ in packets], dtype=np.float64)
            self.times = (pts - pts[0]) * self.base  # [N]
            steps = np.diff(self.times)
            last = packets[-1][1] * self.base or (float(np.median(steps)) if len(steps) else 0.0)
            self.duration = float(self.times[-1] + last)
        steps = np.diff(self.times)
        self.tolerance = 0.25 * (steps.min() if len(steps) else 1.0)  # well under one frame

    def get_batch(self, indices: list[int]) -> np.ndarray:
        import av

        width, height = self.size or (None, None)
        out: dict[int, np.ndarray] = {}
        frames, current, last = None, None, None
        try:
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
                # The last frame if the file ends early.
                out[index] = last.to_ndarray(format="rgb24", width=width, height=height)
        except av.FFmpegError as error:
            raise InputError(self.path, f"cannot decode with PyAV: {error}") from None
        return np.stack([out[i] for i in indices])  # [B, H, W, 3]


def open_video(
    path: str | Path,
    backend: str = "pyav",
    num_threads: int = 1,
    cfr: tuple[int, float] | None = None,
    size: tuple[int, int] | None = None,
) -> PyAVVideo | DecordVideo:
    """An open video file (a chunk or any other); frames resized to `size=(width, height)` when given.

    `cfr=(num_frames, fps)` lets PyAV skip reading packet times (decord indexes the file anyway).
    """
    assert backend in BACKENDS, f"backend must be one of {BACKENDS}, got {backend!r}"
    if backend == "decord":
        return DecordVideo(str(path), num_threads, size)
    return PyAVVideo(str(path), num_threads, cfr, size)
