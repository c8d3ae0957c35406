"""Zero-shot evaluations of a pretrained video encoder (counterfactual-pretraining.md §6).

EgoMCQ (§6.3): for each question, the frozen text feature of the query narration against the 5 candidate clips
(4 uniform frames, test transform, `vid_proj` CLS); the prediction is the most similar clip (cosine); accuracy per
type, inter-video (1) and intra-video (2). SummaryMCQ (HierVL, types 3): the same with a summary against 5 video
windows, each encoded as 16 clips x 4 frames through the aggregator, as in pretraining's video-level objective. Every result is a JSON file that the results table can gather without
knowing the system: {system, run, task, split, metrics: {name: value x 100}, n, checkpoint, config_hash}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from egoflow.annotations.egoclip import read_egomcq
from egoflow.atomic import write_text
from egoflow.checkpoint import load_checkpoint
from egoflow.metrics import binomial_interval, mcq_accuracy
from egoflow.pretrain import ClipReading, DataConfig, build_model, from_dict, summary_clip_windows


def load_trained(checkpoint: str | Path, text_dim: int, device: torch.device) -> tuple[torch.nn.Module, dict]:
    """The encoder of a pretraining run's model.pt (its settings travel inside the file)."""
    state = load_checkpoint(checkpoint)
    run_config = state.get("config") or {}
    settings = dict(run_config.get("settings") or {})
    settings.pop("init", None)  # the weights below replace any initialisation
    model = build_model(settings, text_dim)
    weights = {k.removeprefix("model."): v for k, v in state["model"].items()}
    model.load_state_dict(weights)
    return model.to(device).eval(), run_config


def encode_clips(
    model, clips: list[tuple[str, float, float]], reading: ClipReading, device, batch_size: int = 16
) -> np.ndarray:
    """[N, P] L2-normalised video embeddings of (video, start, end) clips, each read once."""
    out = []
    for start in tqdm(range(0, len(clips), batch_size), desc="clips", unit="batch", file=sys.stderr):
        videos = torch.stack([reading.read(u, s, e, (0,)) for u, s, e in clips[start : start + batch_size]])
        with torch.inference_mode():
            video, _ = model.encode_video(videos.to(device))  # [b, P]
        out.append(torch.nn.functional.normalize(video.float(), dim=-1).cpu().numpy())
    return np.concatenate(out)


def encode_windows(model, windows, reading: ClipReading, data: DataConfig, device) -> np.ndarray:
    """[N, P] L2-normalised aggregated embeddings of long windows: 16 sub-clips each, then the aggregator."""
    out = []
    for uid, start, end in tqdm(windows, desc="windows", unit="window", file=sys.stderr):
        clips = [reading.read(uid, s, e, (0,)) for s, e in summary_clip_windows(start, end, data)]
        with torch.inference_mode():
            embeddings, _ = model.encode_video(torch.stack(clips).to(device))  # [16, P]
            video = model.aggregate(embeddings[None])  # [1, P]
        out.append(torch.nn.functional.normalize(video.float(), dim=-1).cpu().numpy())
    return np.concatenate(out)


def multiple_choice(
    checkpoint: str | Path,
    questions_path: str | Path,
    manifest: str | Path,
    text_encoder_config,
    *,
    device: str = "cpu",
    batch_size: int = 16,
) -> dict:
    """Accuracy of a trained encoder on EgoMCQ (types 1, 2) or SummaryMCQ (types 3) questions, per type, with
    counts and 95 % intervals."""
    from egoflow.features.text_encoder import TextEncoder

    questions = read_egomcq(questions_path)
    encoder = TextEncoder(text_encoder_config)
    dev = torch.device(device)
    model, run_config = load_trained(checkpoint, encoder.dim, dev)
    data = from_dict(DataConfig, (run_config.get("settings") or {}).get("data"))
    reading = ClipReading(manifest, data, "test")

    clips = sorted(
        {(c["video_uid"], float(c["clip_start"]), float(c["clip_end"])) for q in questions for c in q.choices}
    )
    index = {clip: i for i, clip in enumerate(clips)}
    if all(q.types == 3 for q in questions):
        videos = encode_windows(model, clips, reading, data, dev)  # [N, P]
    elif any(q.types == 3 for q in questions):
        raise ValueError(f"{questions_path}: mixes clip-level (types 1, 2) and summary (types 3) questions")
    else:
        videos = encode_clips(model, clips, reading, dev, batch_size)  # [N, P]
    queries = [q.query["clip_text"] for q in questions]
    with torch.inference_mode():
        text = torch.from_numpy(encoder.encode(queries)).to(dev)
        text = torch.nn.functional.normalize(model.encode_text(text).float(), dim=-1).cpu().numpy()  # [Q, P]
    scores = np.stack(
        [
            videos[[index[(c["video_uid"], float(c["clip_start"]), float(c["clip_end"]))] for c in q.choices]]
            @ text[i]
            for i, q in enumerate(questions)
        ]
    )  # [Q, 5] cosine
    answers = np.array([q.answer for q in questions])
    types = np.array([q.types for q in questions])
    accuracy = mcq_accuracy(scores, answers, types)
    correct = scores.argmax(1) == answers
    result = {"metrics": {}, "n": {}, "ci95": {}}
    for name, value in accuracy.items():
        code = {"inter": 1, "intra": 2, "summary": 3}[name]
        n = int((types == code).sum())
        low, high = binomial_interval(int(correct[types == code].sum()), n)
        result["metrics"][f"{name}_accuracy"] = 100 * value
        result["n"][name] = n
        result["ci95"][name] = [100 * low, 100 * high]
    result["config_hash"] = run_config.get("config_hash", "")
    return result


def write_result(
    out: str | Path, *, system: str, run: str, task: str, split: str, checkpoint, result: dict
) -> None:
    row = {
        "system": system,
        "run": run,
        "task": task,
        "split": split,
        "checkpoint": str(checkpoint),
        **result,
    }
    write_text(out, json.dumps(row, indent=2, sort_keys=True) + "\n")
