"""Video transforms in plain torch (torchvision is unusable beside the CPU torch), after EgoVLP's
`data_loader/transforms.py:init_video_transform_dict`. One random crop/flip per clip, shared by all its frames.

train: RandomResizedCrop(224, scale=(0.5, 1.0), ratio=(3/4, 4/3)) -> horizontal flip (p=0.5) -> normalise
test:  Resize(256) -> CenterCrop(256) -> Resize(224) -> normalise   (EgoVLP's eval chain, as in the digest)
Input uint8 [T, H, W, 3] (numpy or torch); output float32 [T, 3, size, size].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class TransformConfig:
    size: int = 224  # output side
    resize: int = 256  # test: short side before the centre crop
    scale: tuple[float, float] = (0.5, 1.0)  # train: crop area / frame area
    ratio: tuple[float, float] = (3 / 4, 4 / 3)  # train: crop aspect range (torchvision default)
    flip: float = 0.5  # train: horizontal flip probability
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


def to_float(frames) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> float32 [T, 3, H, W] in [0, 1]."""
    array = np.asarray(frames)
    frames = torch.as_tensor(array if array.flags.writeable else array.copy())
    assert frames.ndim == 4 and frames.shape[-1] == 3, f"expected [T, H, W, 3], got {tuple(frames.shape)}"
    return frames.permute(0, 3, 1, 2).float().div_(255.0)  # [T, 3, H, W]


def resize(video: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased) resize of [T, 3, H, W]; an int resizes the short side, keeping the aspect."""
    h, w = video.shape[-2:]
    if isinstance(size, int):
        size = (size, max(1, round(w * size / h))) if h <= w else (max(1, round(h * size / w)), size)
    return F.interpolate(video, size=size, mode="bilinear", align_corners=False, antialias=True)


def center_crop(video: torch.Tensor, size: int) -> torch.Tensor:
    h, w = video.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return video[..., top : top + size, left : left + size]


def normalize(video: torch.Tensor, mean, std) -> torch.Tensor:
    mean = torch.tensor(mean, dtype=video.dtype).view(1, 3, 1, 1)  # broadcast over [T, 3, H, W]
    std = torch.tensor(std, dtype=video.dtype).view(1, 3, 1, 1)
    return (video - mean) / std


def random_resized_crop_box(
    h: int, w: int, cfg: TransformConfig, gen: torch.Generator | None
) -> tuple[int, int, int, int]:
    """(top, left, height, width) as torchvision's RandomResizedCrop.get_params: 10 tries, then a centre crop."""
    area = h * w
    log_ratio = (math.log(cfg.ratio[0]), math.log(cfg.ratio[1]))
    for _ in range(10):
        target = area * torch.empty(1).uniform_(*cfg.scale, generator=gen).item()
        aspect = math.exp(torch.empty(1).uniform_(*log_ratio, generator=gen).item())
        cw, ch = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            top = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
            left = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
            return top, left, ch, cw
    ratio = w / h
    if ratio < cfg.ratio[0]:
        cw, ch = w, round(w / cfg.ratio[0])
    elif ratio > cfg.ratio[1]:
        ch, cw = h, round(h * cfg.ratio[1])
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def train_transform(
    frames, cfg: TransformConfig | None = None, gen: torch.Generator | None = None
) -> torch.Tensor:
    cfg = cfg or TransformConfig()
    video = to_float(frames)  # [T, 3, H, W]
    top, left, ch, cw = random_resized_crop_box(video.shape[-2], video.shape[-1], cfg, gen)
    video = video[..., top : top + ch, left : left + cw]
    video = F.interpolate(
        video, size=(cfg.size, cfg.size), mode="bilinear", align_corners=False, antialias=True
    )
    if torch.rand(1, generator=gen).item() < cfg.flip:
        video = video.flip(-1)
    return normalize(video, cfg.mean, cfg.std)  # [T, 3, size, size]


def eval_transform(frames, cfg: TransformConfig | None = None) -> torch.Tensor:
    cfg = cfg or TransformConfig()
    video = resize(to_float(frames), cfg.resize)  # short side 256
    video = center_crop(video, cfg.resize)  # [T, 3, 256, 256]
    video = resize(video, (cfg.size, cfg.size))  # [T, 3, 224, 224]
    return normalize(video, cfg.mean, cfg.std)


def video_transform(mode: str, cfg: TransformConfig | None = None):
    """The transform of a split: a callable frames -> [T, 3, size, size] (train takes an optional generator)."""
    assert mode in ("train", "test"), f"mode must be train or test, got {mode!r}"
    if mode == "train":
        return lambda frames, gen=None: train_transform(frames, cfg, gen)
    return lambda frames, gen=None: eval_transform(frames, cfg)
