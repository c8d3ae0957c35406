"""CARL's two-view sampling: temporal augmentation (random frame subsets of a 1–1.5× expanded block, tail masked)
and per-view spatial augmentation (random resized crop, flip, colour jitter, grayscale), the same parameters for
every frame of a view (object-states-lta-carl.md C.4)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from egoflow.videos.transforms import TransformConfig, normalize, random_resized_crop_box, to_float


@dataclass
class ViewConfig:
    num_frames: int = 80  # frames per view (TRAIN.NUM_FRAMES)
    size: int = 224  # output frame side
    sampling_region: float = 1.5  # the block a view samples from is r·L frames, r ~ U(1, region)
    consistent_offset: float = 0.2  # the second view starts within ±(1 − this)·num_valid of the first
    crop_scale: tuple[float, float] = (0.8, 1.0)
    flip: float = 0.5
    jitter: float = 0.8  # probability of colour jitter (brightness, contrast, saturation 0.8)
    jitter_strength: float = 0.8
    grayscale: float = 0.2


def time_augment(length: int, cfg: ViewConfig, rng: np.random.Generator, first: int | None = None):
    """(steps [T] int64, mask [T] bool, first index): num_valid = min(L, T) sorted frames sampled without
    replacement from [offset, offset + ceil(r·num_valid)); indices ≥ L are masked, padding to T uses L."""
    t = cfg.num_frames
    num_valid = min(length, t)
    block = max(math.ceil(rng.uniform(1.0, cfg.sampling_region) * num_valid), num_valid)
    high = max(length - block, 0)
    if first is None:
        offset = int(rng.integers(0, high + 1))
    else:  # second view: near the first one
        span = int((1.0 - cfg.consistent_offset) * num_valid)
        lo, hi = max(0, first - span), min(high, first + span)
        offset = int(rng.integers(lo, max(hi, lo) + 1))
    steps = np.sort(rng.choice(block, size=num_valid, replace=False)) + offset
    steps = np.concatenate([steps, np.full(t - num_valid, length)])
    mask = steps < length
    return steps.astype(np.int64), mask, offset


def spatial_augment(frames: np.ndarray, cfg: ViewConfig, gen: torch.Generator) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> normalised float [T, 3, size, size], one set of random parameters per view."""
    video = to_float(frames)  # [T, 3, H, W] in [0, 1]
    tcfg = TransformConfig(size=cfg.size, scale=cfg.crop_scale)
    top, left, ch, cw = random_resized_crop_box(video.shape[-2], video.shape[-1], tcfg, gen)
    video = video[..., top : top + ch, left : left + cw]
    video = F.interpolate(
        video, size=(cfg.size, cfg.size), mode="bilinear", align_corners=False, antialias=True
    )

    def u(lo: float, hi: float) -> float:
        return float(torch.empty(1).uniform_(lo, hi, generator=gen))

    if u(0, 1) < cfg.flip:
        video = video.flip(-1)
    if u(0, 1) < cfg.jitter:
        s = cfg.jitter_strength
        video = video * u(max(0.0, 1 - s), 1 + s)  # brightness
        mean = video.mean(dim=(1, 2, 3), keepdim=True)
        video = (video - mean) * u(max(0.0, 1 - s), 1 + s) + mean  # contrast
        gray = (0.299 * video[:, 0] + 0.587 * video[:, 1] + 0.114 * video[:, 2])[:, None]
        video = (video - gray) * u(max(0.0, 1 - s), 1 + s) + gray  # saturation
        video = video.clamp(0, 1)
    if u(0, 1) < cfg.grayscale:
        gray = 0.299 * video[:, 0] + 0.587 * video[:, 1] + 0.114 * video[:, 2]
        video = gray[:, None].expand_as(video).contiguous()
    return normalize(video, tcfg.mean, tcfg.std)


class CarlDataset(torch.utils.data.Dataset):
    """One item per video: two augmented views. `load(i)` returns video i's frames, uint8 [L, H, W, 3]."""

    def __init__(
        self, load: Callable[[int], np.ndarray], lengths: Sequence[int], cfg: ViewConfig, seed: int = 0
    ):
        self.load, self.lengths, self.cfg, self.seed = load, list(lengths), cfg, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: int) -> dict:
        # Per-item seeding: the same (seed, epoch, index) gives the same views, so resumed runs are bit-exact.
        rng = np.random.default_rng((self.seed, self.epoch, index))
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        frames = self.load(index)
        length = len(frames)
        views, steps, masks = [], [], []
        first = None
        for _ in range(2):
            s, m, offset = time_augment(length, self.cfg, rng, first)
            first = offset if first is None else first
            views.append(spatial_augment(frames[np.minimum(s, length - 1)], self.cfg, gen))
            steps.append(torch.from_numpy(s))
            masks.append(torch.from_numpy(m))
        return {"frames": torch.stack(views), "steps": torch.stack(steps), "mask": torch.stack(masks)}
