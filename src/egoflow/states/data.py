"""ChangeIt videos as 1 fps frames from the video stage's chunks (digest A.2): every second's frame, resized to
width x height (398 x 224 upstream, aspect not kept), then a square crop of `height` pixels at a random
horizontal offset (training, the same for every frame of a video) or in the centre (test).

Frame k is the one upstream's extraction (ffmpeg's `fps=1` filter, which rounds timestamps to the nearest
second) keeps for second k: the last frame shown before k + 0.5 s, the middle of the second that the k-th line
of a `.fps1.csv` annotation labels.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from egoflow.videos.reader import ClipReader, FramePlan


@dataclass
class FrameConfig:
    width: int = 398
    height: int = 224  # = the crop side
    fps: float = 1.0
    flip: bool = True  # training: horizontal flip with p = 0.5 (same for the whole video)
    backend: str = "pyav"
    cache_videos: int = (
        0  # decoded videos kept in memory per process (small worlds: every epoch re-reads them)
    )


def crop_offset(width: int, crop: int, mode: str, rng: np.random.Generator | None) -> int:
    if mode == "train":
        return int(rng.integers(0, max(1, width - crop)))  # upstream: [0, 398 - 224 - 1]
    return (width - crop) // 2  # 87 for 398 -> 224


def seconds_of(duration: float, fps: float = 1.0) -> int:
    """Frames (= annotation lines) of a video of `duration` seconds at `fps`."""
    return int(np.ceil(duration * fps - 1e-9))


def second_frames(times: np.ndarray, duration: float, fps: float = 1.0) -> np.ndarray:
    """Index of the frame ffmpeg's `fps` filter emits for each of the `seconds_of(duration, fps)` seconds: the
    last frame shown before (k + 0.5) / fps. A frame stamped at the middle itself rounds up to the next second
    (ffmpeg rounds halves away from zero). Seconds past the last frame repeat it. int64 [N]."""
    middles = (np.arange(seconds_of(duration, fps)) + 0.5) / fps  # [N]
    # tolerance: a frame at 1/2 s stamped 0.49999997 (float32) still counts as at the middle
    index = np.searchsorted(np.asarray(times, dtype=np.float64), middles - 1e-4, side="left") - 1
    return np.clip(index, 0, len(times) - 1).astype(np.int64)


def to_crops(frames: np.ndarray, cfg: FrameConfig, mode: str, rng=None) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> uint8 [T, 3, S, S] (S = cfg.height)."""
    x = crop_offset(frames.shape[2], cfg.height, mode, rng)
    out = frames[:, :, x : x + cfg.height]
    if mode == "train" and cfg.flip and rng.random() < 0.5:
        out = out[:, :, ::-1]
    return torch.from_numpy(np.ascontiguousarray(out)).permute(0, 3, 1, 2)


class VideoFrames:
    """1 fps frames of the chunked videos of a manifest, resized to (width, height)."""

    def __init__(self, manifest: str | Path, cfg: FrameConfig):
        self.manifest, self.cfg = manifest, cfg
        self._reader: ClipReader | None = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def reader(self) -> ClipReader:
        if self._reader is None:  # opened in each DataLoader worker
            self._reader = ClipReader(
                self.manifest, backend=self.cfg.backend, size=(self.cfg.width, self.cfg.height)
            )
        return self._reader

    def __getstate__(self):
        return {**self.__dict__, "_reader": None, "_cache": OrderedDict()}

    def durations(self) -> dict[str, float]:
        return self.reader().durations

    def read(self, uid: str) -> np.ndarray:
        if uid in self._cache:
            self._cache.move_to_end(uid)
            return self._cache[uid]
        frames = self._decode(uid)
        if self.cfg.cache_videos > 0:
            self._cache[uid] = frames
            while len(self._cache) > self.cfg.cache_videos:
                self._cache.popitem(last=False)
        return frames

    def _decode(self, uid: str) -> np.ndarray:
        reader = self.reader()
        index = reader.frame_index(uid)
        wanted = second_frames(index.time_sec, reader.durations[uid], self.cfg.fps)  # [T]
        plan = FramePlan(index.chunk[wanted], index.frame[wanted], index.time_sec[wanted])
        return reader.read_plan(uid, plan)  # [T, H, W, 3]


class ChangeItVideos(torch.utils.data.Dataset):
    """Rows (category index, video_id, weight) -> {"frames" [T, 3, S, S] uint8, "category", "weight", "length"};
    training items are seeded by (seed, epoch, index)."""

    def __init__(self, frames: VideoFrames, rows: list[tuple[int, str, float]], mode: str, seed: int = 0):
        self.frames, self.rows, self.mode, self.seed, self.epoch = frames, rows, mode, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        category, uid, weight = self.rows[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        crops = to_crops(self.frames.read(uid), self.frames.cfg, self.mode, rng)
        return {
            "frames": crops,
            "category": torch.tensor(category),
            "weight": torch.tensor(weight, dtype=torch.float32),
            "length": torch.tensor(len(crops)),
        }


def collate_videos(items: list[dict]) -> dict:
    """Videos of different lengths: frames zero-padded to the longest, [B, T, 3, S, S], with `length` [B]."""
    longest = max(int(i["length"]) for i in items)
    frames = torch.zeros((len(items), longest, *items[0]["frames"].shape[1:]), dtype=items[0]["frames"].dtype)
    for k, item in enumerate(items):
        frames[k, : len(item["frames"])] = item["frames"]
    return {
        "frames": frames,
        **{key: torch.stack([i[key] for i in items]) for key in ("category", "weight", "length")},
    }
