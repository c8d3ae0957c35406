"""A torch Dataset of clips over the video manifest.

Clips are given as (video_uid, start_sec, end_sec) rows (narrations, action segments); without them every
video is tiled into consecutive windows of `clip_sec`. Each item: {"video": float [T, 3, 224, 224],
"video_uid", "start_sec", "end_sec"}. Train items draw their frames and crop from a per-item generator seeded
by (seed, epoch, index), so a run is reproducible for any number of DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from egoflow.videos.reader import ClipReader
from egoflow.videos.transforms import TransformConfig, video_transform


@dataclass
class ClipDatasetConfig:
    num_frames: int = 4  # frames per clip (EgoVLP pretraining: 4)
    mode: str = "train"  # train: random frame per bin + random crop/flip; test: bin middle + centre crop
    clip_sec: float = 4.0  # window length when tiling whole videos
    seed: int = 0
    transform: TransformConfig = field(default_factory=TransformConfig)


class ClipDataset(Dataset):
    def __init__(
        self,
        manifest: str | Path,
        clips: Sequence[tuple[str, float, float]] | None = None,
        cfg: ClipDatasetConfig | None = None,
        reader: ClipReader | None = None,
    ):
        self.cfg = cfg = cfg or ClipDatasetConfig()
        self.reader = reader or ClipReader(manifest)
        if clips is None:
            clips = [
                (uid, start, min(start + cfg.clip_sec, duration))
                for uid, duration in self.reader.durations.items()
                for start in np.arange(0.0, duration, cfg.clip_sec)
            ]
        self.clips = [(str(uid), float(s), float(e)) for uid, s, e in clips]
        self.transform = video_transform(cfg.mode, cfg.transform)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        uid, start, end = self.clips[index]
        seed = (self.cfg.seed, self.epoch, index)
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        frames = self.reader.read(uid, start, end, self.cfg.num_frames, self.cfg.mode, rng)  # [T, H, W, 3]
        return {"video": self.transform(frames, gen), "video_uid": uid, "start_sec": start, "end_sec": end}
