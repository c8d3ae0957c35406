"""Per-frame visual features of one video -> an LMDB store in the RULSTM layout.

Frames come from the video's 256p chunks (`egoflow.videos.frames.sample_frames(chunks_dir, fps)`: frame numbers
[B] int64, 1-based in the SOURCE video's frames at its native fps; frames uint8 [B, H, W, 3], upright), never
from the source file, so rotated phone footage gives upright features and a 1080p source costs what its 256p
chunks cost. Keys use those frame numbers, so a window reader working in the native fps finds them; the native
fps of each video is recorded in the store's meta.json (`video_fps`). Sampling every round(native / fps) frames
keeps the look-back of the window reader (9 frames) sufficient as long as fps >= native / 10 (3 fps for 30 fps
video).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from egoflow.features.lmdb_store import LmdbFeatureWriter
from egoflow.features.visual_backbone import BackboneConfig, VisualBackbone
from egoflow.videos.frames import sample_frames, source_fps
from egoflow.videos.reader import read_chunk_record


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
    chunks_dir: str | Path, video_id: str, out: str | Path, config: BackboneConfig, fps: float
) -> int:
    """Sample the chunks of one video (`results/videos/chunks/<uid>/`) at `fps`, embed every sampled frame with
    the frozen backbone, write the store `out`; returns the rows written.

    A video the video stage rejected (videos.on_error: skip; its chunks.json says ok: false) gets an empty store,
    so the merged store simply lacks it.
    """
    backbone = VisualBackbone(config)
    record = read_chunk_record(chunks_dir)
    if not record["ok"]:
        print(f"{video_id}: rejected by the video stage ({record['reason']}); no features", file=sys.stderr)
        with LmdbFeatureWriter(out, backbone.dim):
            return 0
    batches = sample_frames(chunks_dir, fps)
    return write_frame_features(video_id, batches, backbone, out, source_fps=source_fps(chunks_dir))
