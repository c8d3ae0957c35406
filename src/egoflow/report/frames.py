"""Grab single frames from videos for the report (PyAV; small, so pages stay light)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def grab_frame(path: str | Path, seconds: float, *, max_width: int = 320) -> np.ndarray | None:
    """The first frame at or after `seconds`, as (H, W, 3) uint8 at most `max_width` wide; None if unreadable."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.time_base is not None and seconds > 0:
                container.seek(int(seconds / stream.time_base), stream=stream, backward=True)
            frame = None
            for frame in container.decode(stream):
                if frame.time is not None and frame.time + 1e-6 >= seconds:
                    break
            if frame is None:
                return None
            width, height = frame.width, frame.height
            if width > max_width:  # keep the aspect ratio; even sizes suit every pixel format
                width, height = max_width, max(2, round(height * max_width / width / 2) * 2)
            return frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    except (OSError, ValueError, IndexError, av.error.FFmpegError):
        return None
