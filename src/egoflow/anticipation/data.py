"""Anticipation samples: EPIC-style segments -> observed windows before each action; Ego4D LTA windows.

EPIC (sgear-anticipation.md §3.1, AVT `convert_to_anticipation`): for an action starting at `start`, the observed
window ends at end = start - tau_a and spans tau_o seconds (T = tau_o * fps frames, one per 1/fps s, ending at
`end`). `drop_style=correct`: a sample whose window end is before the first frame (end < 1/30 s) is dropped and
counted. Action ids come from the language-prototype table (RULSTM actions.csv: the train+val verb-noun pairs);
an unknown pair is -1. Per-frame past labels: the action of the segment of the same video covering the frame's
time (the latest-starting one where segments overlap), else -1.

Ego4D LTA (object-states-lta-carl.md B.2): per clip_uid, entries sorted by action_idx; windows of N observed
actions followed by Z future ones, len - Z - N + 1 per clip (upstream since 38d1931); key
"{clip_uid}_{action_idx of the last observed action}".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from egoflow.annotations.ego4d_lta import read_lta
from egoflow.annotations.epic import read_epic_segments
from egoflow.features.language_prototypes import read_language_prototypes
from egoflow.features.window import FeatureWindowReader

MIN_END = 1 / 30  # drop_style=correct: the window must end at or after the first 30-fps frame


@dataclass
class WindowConfig:
    tau_a: float = 1.0  # anticipation time (s)
    tau_o: float = 15.0  # observed time (s)
    fps: float = 1.0  # frames per second of the window (T = tau_o * fps)


def action_table(language_prototypes: str | Path) -> dict[tuple[int, int], int]:
    """{(verb_class, noun_class): action_id} from the language-prototype HDF5 (one action table for both)."""
    data = read_language_prototypes(language_prototypes)
    pairs = zip(data["verb_class"].tolist(), data["noun_class"].tolist(), strict=True)
    return {pair: int(a) for pair, a in zip(pairs, data["action_id"].tolist(), strict=True)}


def anticipation_segments(
    segments: pd.DataFrame | str | Path, actions: dict[tuple[int, int], int], window: WindowConfig
) -> tuple[pd.DataFrame, int]:
    """-> (kept samples, number dropped). Columns: narration_id, participant_id, video_id, start_sec, end
    (window end, s), verb_class, noun_class, action."""
    table = segments if isinstance(segments, pd.DataFrame) else read_epic_segments(segments)
    table = table.copy()
    table["end"] = table["start_sec"] - window.tau_a
    keep = table["end"] >= MIN_END
    table = table[keep].reset_index(drop=True)
    table["action"] = [
        actions.get((int(v), int(n)), -1)
        for v, n in zip(table["verb_class"], table["noun_class"], strict=True)
    ]
    columns = ["narration_id", "participant_id", "video_id", "start_sec", "stop_sec", "end"]
    columns += ["verb_class", "noun_class", "action"]
    return table[columns], int((~keep).sum())


def past_labels(
    samples: pd.DataFrame, segments: pd.DataFrame, times: np.ndarray, actions: dict[tuple[int, int], int]
) -> np.ndarray:
    """[S, T] action of the segment covering each frame time (same video), -1 where none."""
    out = np.full(times.shape, -1, dtype=np.int64)
    by_video = {}
    for video, group in segments.groupby("video_id", sort=False):
        group = group.sort_values("start_sec", kind="stable")
        ids = [
            actions.get((int(v), int(n)), -1)
            for v, n in zip(group["verb_class"], group["noun_class"], strict=True)
        ]
        by_video[video] = (group["start_sec"].to_numpy(), group["stop_sec"].to_numpy(), np.array(ids))
    for i, video in enumerate(samples["video_id"]):
        if video not in by_video:
            continue
        start, stop, ids = by_video[video]
        for j, t in enumerate(times[i]):
            covering = np.flatnonzero((start <= t) & (t <= stop))
            if len(covering):
                out[i, j] = ids[covering[-1]]  # the latest-starting of overlapping segments
    return out


class AnticipationFeatures(torch.utils.data.Dataset):
    """EPIC anticipation samples read from feature stores: {"x": [T, D], "target": [], "past": [T]}."""

    def __init__(
        self,
        segments_csv: str | Path,
        stores: Sequence[str | Path],
        actions: dict[tuple[int, int], int],
        window: WindowConfig,
    ):
        table = read_epic_segments(segments_csv)
        self.samples, self.dropped = anticipation_segments(table, actions, window)
        self.stores, self.window = [str(s) for s in stores], window
        with FeatureWindowReader(self.stores) as reader:
            self.dim = reader.dim
            queries = list(zip(self.samples["video_id"], self.samples["end"], strict=True))
            frames = reader.batch_frames(queries, window.tau_o, window.fps)  # [S, T]
            fps = np.array([reader._source_fps(v) for v in self.samples["video_id"]])[:, None]
            # frames in memory: demo and small real subsets fit; a window is T x D float32
            self.x = reader.read_batch(queries, window.tau_o, window.fps) if queries else np.zeros((0, 1, 1))
        self.past = past_labels(self.samples, table, frames / fps, actions)
        self.target = self.samples["action"].to_numpy(np.int64)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        return {
            "x": torch.from_numpy(self.x[i]),
            "target": torch.tensor(self.target[i]),
            "past": torch.from_numpy(self.past[i]),
        }


# --- Ego4D LTA ------------------------------------------------------------------------------------------


@dataclass
class LtaWindowConfig:
    num_input: int = 2  # N
    num_future: int = 20  # Z
    fps: float = 4.0  # frames per second read inside each observed action for its clip feature
    min_seconds: float = 0.25  # shorter actions are read as this long


def lta_windows(entries: pd.DataFrame, num_input: int, num_future: int) -> list[dict]:
    """Windows [{key, observed: [(video_uid, start, end) video seconds] x N, verbs [Z], nouns [Z]}].

    Each observed action is read from its own entry's video: real Ego4D entries of a clip share one
    video_uid, the demo world's clips chain several videos (egoflow.demo.annotations.lta)."""
    windows = []
    for clip, group in entries.groupby("clip_uid", sort=True):
        group = group.sort_values("action_idx", kind="stable")
        offset = group.get("clip_parent_start_sec", pd.Series(0.0, index=group.index)).fillna(0.0)
        starts = (offset + group["action_clip_start_sec"]).to_numpy()
        ends = (offset + group["action_clip_end_sec"]).to_numpy()
        verbs, nouns = group["verb_label"].to_numpy(), group["noun_label"].to_numpy()
        idx, videos = group["action_idx"].to_numpy(), group["video_uid"].to_numpy()
        for i in range(len(group) - num_future - num_input + 1):
            last = i + num_input - 1
            future = slice(last + 1, last + 1 + num_future)
            windows.append(
                {
                    "key": f"{clip}_{int(idx[last])}",
                    "observed": [
                        (str(videos[j]), float(starts[j]), float(ends[j])) for j in range(i, last + 1)
                    ],
                    "verbs": verbs[future].astype(np.int64),
                    "nouns": nouns[future].astype(np.int64),
                }
            )
    return windows


class LtaFeatures(torch.utils.data.Dataset):
    """LTA windows with one clip feature per observed action (the mean of the store's window over the
    action): {"x": [N, D], "verbs": [Z], "nouns": [Z]}."""

    def __init__(self, path: str | Path, stores: Sequence[str | Path], cfg: LtaWindowConfig, labelled=True):
        entries = read_lta(path, labelled=labelled)
        self.windows = lta_windows(entries, cfg.num_input, cfg.num_future)
        self.keys = [w["key"] for w in self.windows]
        with FeatureWindowReader([str(s) for s in stores]) as reader:
            self.dim = reader.dim
            x = np.zeros((len(self.windows), cfg.num_input, reader.dim), dtype=np.float32)
            for i, w in enumerate(self.windows):
                for j, (video, start, end) in enumerate(w["observed"]):
                    span = max(end - start, cfg.min_seconds)
                    x[i, j] = reader.read(video, end, span, cfg.fps).mean(0)
        self.x = x
        z = cfg.num_future
        self.verbs = np.stack([w["verbs"] for w in self.windows]) if self.windows else np.zeros((0, z), int)
        self.nouns = np.stack([w["nouns"] for w in self.windows]) if self.windows else np.zeros((0, z), int)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict:
        return {
            "x": torch.from_numpy(self.x[i]),
            "verbs": torch.from_numpy(self.verbs[i]),
            "nouns": torch.from_numpy(self.nouns[i]),
        }
