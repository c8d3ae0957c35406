"""Grab single frames from videos for the report (small, so pages stay light), through `egoflow.videos.decoders`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from egoflow.errors import InputError
from egoflow.videos.decoders import frame_size, open_video


def grab_frame(path: str | Path, seconds: float, *, max_width: int = 320) -> np.ndarray | None:
    """The first frame at or after `seconds` (from the first frame), as (H, W, 3) uint8 at most `max_width`
    wide; the last frame past the end; None if unreadable."""
    try:
        width, height = frame_size(path)
        if width > max_width:  # keep the aspect ratio; even sizes suit every pixel format
            width, height = max_width, max(2, round(height * max_width / width / 2) * 2)
        video = open_video(path, size=(width, height))
        index = min(int(np.searchsorted(video.times, seconds - 1e-6)), len(video.times) - 1)
        return video.get_batch([index])[0]
    except InputError:
        return None
