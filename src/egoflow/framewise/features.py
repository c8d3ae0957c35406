"""Frame features from any trained encoder: one embedding per frame, one HDF5 per (encoder, dataset, split).

Window encoders (a pretraining run's model.pt, or a released EgoVLP / HierVL / CF checkpoint) embed the centred `window`-frame window of every frame (edges padded
by repeating the first / last frame), subsampled to the encoder's clip length, in batches of windows. Sequence
encoders (CARL) embed the whole video at once (in equal chunks beyond `max_len` frames), as CARL's evaluation does.

HDF5 layout: `features` float32 [N, D], `frame` int64 [N] (frame index inside its video), `video` int64 [N]
(row of `video_ids`), `label` int64 [N], `video_ids` (strings); attrs encoder, dim.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from egoflow.atomic import atomic_path
from egoflow.errors import InputError
from egoflow.videos.transforms import IMAGENET_MEAN, IMAGENET_STD, normalize, to_float


def centred_windows(n: int, window: int = 15) -> np.ndarray:
    """[n, window] frame indices of the window centred on each frame, clipped to [0, n-1] (edge repeat)."""
    half = window // 2
    return np.clip(np.arange(n)[:, None] + np.arange(-half, window - half)[None, :], 0, n - 1)


def prepare(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [L, H, W, 3] -> normalised float [L, 3, size, size]."""
    video = to_float(frames)
    if video.shape[-1] != size or video.shape[-2] != size:
        video = F.interpolate(video, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return normalize(video, IMAGENET_MEAN, IMAGENET_STD)


class WindowEncoder:
    """A clip encoder (frames [B, T, 3, S, S] -> [B, D]) applied to centred windows."""

    def __init__(
        self, encode: Callable, size: int, clip_frames: int, window: int = 15, batch: int = 8, device="cpu"
    ):
        self.encode, self.size, self.clip_frames = encode, size, clip_frames
        self.window, self.batch, self.device = window, batch, torch.device(device)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        video = prepare(frames, self.size)  # [L, 3, S, S]
        windows = centred_windows(len(video), self.window)  # [L, W]
        # The encoder was trained on clips of `clip_frames`: take that many evenly spaced frames of each window.
        pick = np.round(np.linspace(0, self.window - 1, self.clip_frames)).astype(int)
        windows = windows[:, pick]
        out = []
        for start in range(0, len(windows), self.batch):
            idx = torch.from_numpy(windows[start : start + self.batch])
            with torch.inference_mode():
                out.append(self.encode(video[idx].to(self.device)).float().cpu())
        return torch.cat(out).numpy()


class SequenceEncoder:
    """A sequence encoder (frames [1, L, 3, S, S] -> [1, L, D]), e.g. CARL's `encode`."""

    def __init__(self, encode: Callable, size: int, max_len: int = 1000, device="cpu"):
        self.encode, self.size, self.max_len, self.device = encode, size, max_len, torch.device(device)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        video = prepare(frames, self.size)
        pieces = int(np.ceil(len(video) / self.max_len))
        out = []
        for part in np.array_split(np.arange(len(video)), pieces):
            with torch.inference_mode():
                out.append(self.encode(video[part][None].to(self.device))[0].float().cpu())
        return torch.cat(out).numpy()


def pretrain_encoder(checkpoint: str | Path, text_dim: int, device, window: int = 15, batch: int = 8):
    """A pretraining run's model.pt as a window encoder (its video embedding)."""
    from egoflow.evaluate import load_trained

    model, run_config = load_trained(checkpoint, text_dim, torch.device(device))
    data = (run_config.get("settings") or {}).get("data") or {}
    size, clip = int(data.get("image_size", 224)), int(data.get("num_frames", 4))

    def encode(clips):
        return F.normalize(model.encode_video(clips)[0], dim=-1)

    return WindowEncoder(encode, size, clip, window, batch, device)


def released_encoder(
    checkpoint: str | Path,
    settings: dict,
    device,
    window: int = 15,
    batch: int = 8,
):
    """A released checkpoint (EgoVLP / HierVL / CF layout, or egoflow's) as a window encoder (its video embedding).

    settings: `source` (auto | egovlp | hiervl | cf, see egoflow.models.pretrained), `model` (the
    CounterfactualModelConfig sizes the file was trained with; video-only: text_dim defaults to None) and
    `num_frames` (frames per clip fed to the encoder; the paper feeds 4). Keys the file does not fill are an
    error: features from a half-initialised encoder would be silently meaningless.
    """
    from egoflow.models.counterfactual import CounterfactualModel, CounterfactualModelConfig
    from egoflow.models.pretrained import load_pretrained

    config = CounterfactualModelConfig.from_dict({"text_dim": None, **(settings.get("model") or {})})
    model = CounterfactualModel(config)
    report = load_pretrained(model, checkpoint, source=settings.get("source", "auto"))
    if report.missing:
        raise InputError(checkpoint, f"does not fill the encoder configured for it:\n{report}")
    model.to(device).eval()

    def encode(clips):
        return F.normalize(model.encode_video(clips)[0], dim=-1)

    clip = int(settings.get("num_frames", 4))
    return WindowEncoder(encode, config.video.img_size, clip, window, batch, device)


def carl_encoder(checkpoint: str | Path, size: int, device):
    from egoflow.framewise.carl import load_carl

    model = load_carl(checkpoint, device)
    return SequenceEncoder(lambda v: F.normalize(model.encode(v), dim=-1), size, device=device)


def write_frame_features(
    out: str | Path,
    encoder: Callable[[np.ndarray], np.ndarray],
    videos: Sequence[str],
    frames: Callable[[int], np.ndarray],
    labels: Callable[[int], np.ndarray],
    *,
    name: str,
) -> int:
    """Embed every video and write the HDF5 atomically; returns the number of frames."""
    feats, frame, video, label = [], [], [], []
    for k in tqdm(range(len(videos)), desc="frame features", unit="video", file=sys.stderr):
        f = encoder(frames(k))
        y = np.asarray(labels(k))
        if len(f) != len(y):
            raise ValueError(f"{videos[k]}: {len(f)} embeddings for {len(y)} labels")
        feats.append(f.astype(np.float32))
        frame.append(np.arange(len(f)))
        video.append(np.full(len(f), k))
        label.append(y)
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        h5["features"] = np.concatenate(feats)
        h5["frame"] = np.concatenate(frame).astype(np.int64)
        h5["video"] = np.concatenate(video).astype(np.int64)
        h5["label"] = np.concatenate(label).astype(np.int64)
        h5["video_ids"] = np.asarray(list(videos), dtype=h5py.string_dtype())
        h5.attrs["encoder"] = name
        h5.attrs["dim"] = feats[0].shape[1]
    return int(sum(len(f) for f in feats))


class FrameFeatures:
    """Read side: per-video (T, D) embeddings and (T,) labels."""

    def __init__(self, path: str | Path):
        with h5py.File(path, "r") as h5:
            x, v, y = h5["features"][:], h5["video"][:], h5["label"][:]
            self.video_ids = [s.decode() if isinstance(s, bytes) else str(s) for s in h5["video_ids"][:]]
        self.embeddings = [x[v == k] for k in range(len(self.video_ids))]
        self.labels = [y[v == k] for k in range(len(self.video_ids))]

    def __len__(self) -> int:
        return len(self.video_ids)
