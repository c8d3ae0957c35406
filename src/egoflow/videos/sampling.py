"""EgoVLP clip sampling: split a clip's frames into equal bins, take one frame per bin.

After `sample_frames_start_end` in EgoVLP `base/base_dataset.py`: bins from `np.linspace(0, n, T + 1)`; train
takes a random frame of each bin, test the bin's middle `(lo + hi - 1) // 2`. Upstream draws the random frame
from [lo, hi - 1), never the bin's last frame; here every frame of the bin can be drawn.
"""

from __future__ import annotations

import numpy as np

MODES = ("train", "test")


def sample_positions(
    n: int, num_frames: int, mode: str, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Positions in [0, n) of the `num_frames` frames of a clip that has `n` frames; int64 [num_frames].

    With fewer frames than requested, every frame is taken once and the last one repeated (EgoVLP's padding).
    """
    assert mode in MODES, f"mode must be one of {MODES}, got {mode!r}"
    assert n >= 1 and num_frames >= 1, f"need n >= 1 and num_frames >= 1, got n={n}, num_frames={num_frames}"
    taken = min(num_frames, n)
    edges = np.linspace(0, n, taken + 1).astype(np.int64)  # [taken + 1]
    lo, hi = edges[:-1], np.maximum(edges[1:], edges[:-1] + 1)
    if mode == "train":
        rng = rng if rng is not None else np.random.default_rng()
        positions = rng.integers(lo, hi)
    else:
        positions = (lo + hi - 1) // 2
    if taken < num_frames:
        positions = np.concatenate([positions, np.full(num_frames - taken, positions[-1])])
    return positions.astype(np.int64)
