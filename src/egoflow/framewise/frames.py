"""Frames and per-frame labels of a labelled set of videos (a CARL-layout phases split, or GTEA), decoded once at a
low rate and size into one NPZ (`video_<k>` uint8 [L, H, W, 3], `label_<k>` int64 [L], `names`), which CARL
training and the frame features read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from egoflow.annotations.gtea import read_gtea
from egoflow.annotations.phases import read_phases
from egoflow.atomic import atomic_path
from egoflow.videos.frames import sample_frames, source_fps


def phase_items(phases_pkl: str | Path) -> list[tuple[str, np.ndarray, float | None]]:
    """(video, per-source-frame labels, None) of one CARL-layout split."""
    return [(row.name, np.asarray(row.frame_label), None) for row in read_phases(phases_pkl).itertuples()]


def gtea_items(root: str | Path, label_fps: float = 15.0) -> list[tuple[str, np.ndarray, float | None]]:
    """(video, labels at `label_fps`, label_fps) of every GTEA ground-truth file."""
    return [(name, labels, label_fps) for name, labels in read_gtea(root).labels.items()]


def extract_frames(
    items: list[tuple[str, np.ndarray, float | None]],
    chunks_root: str | Path,
    out: str | Path,
    *,
    fps: float,
    size: int,
) -> int:
    """Decode every video at `fps`, short side `size`, centre-cropped square; each sampled frame takes the label
    of its time (labels at the source rate when label_fps is None)."""
    arrays: dict[str, np.ndarray] = {}
    names = []
    for k, (name, labels, label_fps) in enumerate(tqdm(items, desc="frames", unit="video")):
        chunks = Path(chunks_root) / name
        numbers, frames = [], []
        for n, f in sample_frames(chunks, fps, size=size):
            numbers.append(n)
            frames.append(f)
        numbers, frames = np.concatenate(numbers), np.concatenate(frames)
        h, w = frames.shape[1:3]
        side = min(h, w)
        frames = frames[:, (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
        index = numbers - 1  # 1-based source frame numbers
        if label_fps is not None:
            index = np.floor(index * label_fps / source_fps(chunks)).astype(np.int64)
        arrays[f"video_{k}"] = frames
        arrays[f"label_{k}"] = np.asarray(labels)[np.clip(index, 0, len(labels) - 1)].astype(np.int64)
        names.append(name)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, names=np.asarray(names), **arrays)
    return len(names)


class FrameArchive:
    """Read side of `extract_phase_frames` (lazy: one video at a time)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._npz = np.load(self.path)
        self.names = [str(n) for n in self._npz["names"]]

    def __len__(self) -> int:
        return len(self.names)

    def frames(self, k: int) -> np.ndarray:
        return self._npz[f"video_{k}"]

    def labels(self, k: int) -> np.ndarray:
        return self._npz[f"label_{k}"]

    def __getstate__(self):  # DataLoader workers reopen the file
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"])
