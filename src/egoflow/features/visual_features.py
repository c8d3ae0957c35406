"""Per-frame visual features of one video -> an LMDB store in the RULSTM layout.

Frames come from `egoflow.videos.frames.sample_frames(path, fps)`: (frame numbers [B] int64, 1-based at the
file's native fps; frames uint8 [B, H, W, 3]). Keys use those frame numbers, so a window reader working in the
native fps finds them; the native fps of each video is recorded in the store's meta.json (`video_fps`).
Sampling every round(native / fps) frames keeps the look-back of the window reader (9 frames) sufficient as long
as fps >= native / 10 (3 fps for 30 fps video).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from egoflow.errors import InputError
from egoflow.features.lmdb_store import LmdbFeatureWriter
from egoflow.features.visual_backbone import BackboneConfig, VisualBackbone


def native_fps(path: str | Path) -> float:
    """Average frame rate of the first video stream."""
    import av

    try:
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate
    except (av.error.FFmpegError, IndexError) as error:
        raise InputError(path, f"cannot read the video stream ({error})") from None
    if not rate:
        raise InputError(path, "video stream has no frame rate")
    return float(rate)


def write_frame_features(
    video_id: str,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    backbone: VisualBackbone,
    out: str | Path,
    *,
    source_fps: float,
) -> int:
    """Embed (frame numbers [B], frames [B, H, W, 3]) batches of one video into a new store `out`; returns rows."""
    with LmdbFeatureWriter(out, backbone.dim) as writer:
        for numbers, frames in tqdm(batches, desc=f"visual features {video_id}", unit="batch"):
            # Sampling above the native rate repeats frames: embed and store each frame number once.
            numbers, first = np.unique(numbers, return_index=True)
            frames = frames[first]
            for start in range(0, len(frames), backbone.config.batch_size):
                stop = start + backbone.config.batch_size
                writer.put(video_id, numbers[start:stop], backbone.embed(frames[start:stop]))
        writer.video_fps[video_id] = source_fps
    return writer.count


def extract_video_features(
    video: str | Path,
    video_id: str,
    out: str | Path,
    config: BackboneConfig,
    fps: float,
    *,
    probe: str | Path | None = None,
) -> int:
    """Sample `video` at `fps`, embed every sampled frame with the frozen backbone, write the store `out`.

    `probe` is the video stage's verdict (results/videos/probe/<uid>.json): a video it rejected (with
    videos.on_error: skip) gets an empty store, so the merged store simply lacks it.
    """
    from egoflow.videos.frames import sample_frames

    backbone = VisualBackbone(config)
    if probe is not None and not json.loads(Path(probe).read_text(encoding="utf-8"))["ok"]:
        print(f"{video_id}: rejected by the video stage; no features", file=sys.stderr)
        with LmdbFeatureWriter(out, backbone.dim):
            return 0
    # Decode at the backbone's input size (short side): decoding is the slow part, not the resize.
    batches = sample_frames(video, fps, size=backbone.image_size)
    return write_frame_features(video_id, batches, backbone, out, source_fps=native_fps(video))
