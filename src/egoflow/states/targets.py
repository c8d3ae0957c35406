"""What one training step learns from a video (digest A.4-A.5): its noise-adaptive weight and the pseudo-labelled
frames around the ordering constraint's (s1, a, s2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from egoflow.annotations.changeit import ChangeIt

WEIGHT_TEMPERATURE = 0.001  # upstream: practically a hard gate at the category's threshold


def video_weight(
    relevance, theta, temperature: float = WEIGHT_TEMPERATURE, enabled: bool = True
) -> np.ndarray:
    """sigmoid((r - theta) / temperature) per video; all ones when disabled (upstream --ignore_video_weight)."""
    r = np.asarray(relevance, dtype=np.float64)
    if not enabled:
        return np.ones_like(r)
    z = (r - np.asarray(theta, dtype=np.float64)) / temperature
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = sigmoid(z), without overflow for |z| of thousands


def video_weights(
    changeit: ChangeIt, temperature: float = WEIGHT_TEMPERATURE, enabled: bool = True
) -> pd.DataFrame:
    """Every listed video: category, video_id, relevance, theta, weight, annotated (test videos, not trained on)."""
    theta = changeit.categories.set_index("DIR_NAME")["CENTERING_PARAM"]
    table = changeit.videos.copy()
    table["theta"] = table["category"].map(theta).astype(float)
    table["weight"] = video_weight(table["relevance_score"], table["theta"], temperature, enabled)
    keys = list(zip(table["category"], table["video_id"], strict=True))
    table["annotated"] = [k in changeit.annotations for k in keys]
    return table.rename(columns={"relevance_score": "relevance"})


def pseudo_targets(
    s1: int, a: int, s2: int, length: int, category: int, num_categories: int, *,
    frames_per_gt: int = 3, kappa: int = 60,
) -> dict[str, np.ndarray]:  # fmt: skip
    """The frames one video trains on and their targets (upstream train.py: n_frames_per_gt=3, kappa_dist=60).

    frames: s1, s2 and a, each with its neighbours, then a - kappa and a + kappa with theirs (clamped to the
    video); state targets 2c / 2c + 1 / background 2C for the s1 / s2 / a frames, the far frames masked out of
    the state loss; action targets background C for the state and far frames, c for the action frames.
    """
    c, bg_state, bg_action = category, 2 * num_categories, num_categories
    offsets = np.arange(frames_per_gt) - frames_per_gt // 2
    centres = [s1, s2, a, a - kappa, a + kappa]
    frames = np.clip(np.concatenate([centre + offsets for centre in centres]), 0, length - 1)
    n = frames_per_gt
    state = np.repeat([2 * c, 2 * c + 1, bg_state, bg_state, bg_state], n)
    mask = np.repeat([1.0, 1.0, 1.0, 0.0, 0.0], n)
    action = np.repeat([bg_action, bg_action, c, bg_action, bg_action], n)
    return {
        "frames": frames.astype(np.int64),
        "state": state.astype(np.int64),
        "state_mask": mask.astype(np.float32),
        "action": action.astype(np.int64),
    }
