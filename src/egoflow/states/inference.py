"""Inference and evaluation: per-second state and action probabilities of a video, and ChangeIt's precisions.

`predict(video_path, model_path)` decodes any video file at 1 fps (the annotation grid: frame k is the last one
shown before k + 0.5 s, as upstream's ffmpeg `fps=1` extraction keeps) and returns, per category, p_initial,
p_end and p_action per second. `predict_annotated` does the same for the annotated ChangeIt videos from the
video stage's chunks; `evaluate_predictions` scores a predictions table against the annotation files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from egoflow.annotations.changeit import ChangeIt
from egoflow.checkpoint import load_checkpoint
from egoflow.errors import InputError
from egoflow.metrics.states import action_precision_at_1, category_mean, state_precision_at_1
from egoflow.models.state_heads import StateHeads, StateHeadsConfig
from egoflow.states.data import FrameConfig, VideoFrames, second_frames, to_crops
from egoflow.videos.decoders import open_video

PREDICTION_COLUMNS = ["category", "video_id", "second", "p_initial", "p_end", "p_action"]


def load_model(model_path: str | Path, device: str = "cpu") -> tuple[StateHeads, dict]:
    """The trained model (train_states' model.pt) and its run config (categories, model, frames)."""
    state = load_checkpoint(model_path, map_location="cpu")
    config = state.get("config") or {}
    if "categories" not in config or "model" not in config:
        raise InputError(model_path, "not an object-state model (no categories / model settings)")
    model = StateHeads(StateHeadsConfig.from_dict({**config["model"], "checkpoint": ""}))
    weights = {k.removeprefix("model."): v for k, v in state["model"].items()}
    model.load_state_dict(weights)
    return model.to(device).eval(), config


def probabilities(model: StateHeads, crops: torch.Tensor, categories: list[int], device: str = "cpu") -> dict:
    """{category index: (p_initial, p_end, p_action) float64 [T]} of one video's crops [T, 3, S, S]."""
    crops = crops.to(device)
    return {c: tuple(p.double().cpu().numpy() for p in model.probabilities(crops, c)) for c in categories}


def decode_seconds(video_path: str | Path, frames: FrameConfig) -> np.ndarray:
    """uint8 [T, H, W, 3]: the 1 fps frames of any video file (`second_frames`), resized to width x height."""
    video = open_video(video_path, frames.backend, 1, None, (frames.width, frames.height))
    wanted = second_frames(video.times, video.duration, frames.fps)
    return video.get_batch(wanted.tolist())


def predict(
    video_path: str | Path, model_path: str | Path, category: str | None = None, device: str = "cpu"
) -> dict[str, dict[str, np.ndarray]]:
    """{category: {"initial", "end", "action": float64 [seconds]}} of one video (every category, or one)."""
    model, config = load_model(model_path, device)
    names = config["categories"]
    if category is not None and category not in names:
        raise ValueError(f"category {category!r} is not one of the model's: {', '.join(names)}")
    wanted = [names.index(category)] if category else list(range(len(names)))
    frame_cfg = FrameConfig(**config["frames"])
    crops = to_crops(decode_seconds(video_path, frame_cfg), frame_cfg, "test")
    out = probabilities(model, crops, wanted, device)
    return {names[c]: dict(zip(("initial", "end", "action"), out[c], strict=True)) for c in wanted}


def predict_annotated(
    changeit: ChangeIt, manifest: str | Path, model_path: str | Path, device: str = "cpu"
) -> pd.DataFrame:
    """PREDICTION_COLUMNS for every annotated video that the video stage chunked (one row per second)."""
    model, config = load_model(model_path, device)
    names = config["categories"]
    frames = VideoFrames(manifest, FrameConfig(**config["frames"]))
    known = frames.durations()
    parts = []
    keys = sorted(k for k in changeit.annotations if k[1] in known)
    for category, uid in tqdm(keys, desc="predict", unit="video"):
        crops = to_crops(frames.read(uid), frames.cfg, "test")
        p1, p2, pa = probabilities(model, crops, [names.index(category)], device)[names.index(category)]
        parts.append(pd.DataFrame({"category": category, "video_id": uid, "second": np.arange(len(p1)),
                                   "p_initial": p1, "p_end": p2, "p_action": pa}))  # fmt: skip
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PREDICTION_COLUMNS)


def evaluate_predictions(changeit: ChangeIt, predictions: pd.DataFrame) -> dict:
    """{"metrics": {state_precision, action_precision} (%, per category then over categories), "n": videos,
    "per_video": [...], "missing": annotated videos without predictions}. A prediction whose length differs
    from its annotation fails, naming the video."""
    rows, missing = [], []
    groups = {
        key: g.sort_values("second") for key, g in predictions.groupby(["category", "video_id"], sort=False)
    }
    for (category, uid), labels in sorted(changeit.annotations.items()):
        g = groups.get((category, uid))
        if g is None:
            missing.append(f"{category}/{uid}")
            continue
        if len(g) != len(labels):
            raise ValueError(f"{category}/{uid}: {len(g)} predicted seconds, {len(labels)} annotated")
        rows.append({
            "category": category, "video_id": uid,
            "state_precision": state_precision_at_1(g["p_initial"], g["p_end"], labels),
            "action_precision": action_precision_at_1(g["p_action"], labels),
        })  # fmt: skip
    table = pd.DataFrame(rows, columns=["category", "video_id", "state_precision", "action_precision"])
    metrics = {
        name: 100 * category_mean(table[name], table["category"])
        for name in ("state_precision", "action_precision")
    }
    return {
        "metrics": metrics,
        "n": {"videos": len(table), "categories": int(table["category"].nunique())},
        "missing": missing,
        "per_video": table.to_dict("records"),
    }
