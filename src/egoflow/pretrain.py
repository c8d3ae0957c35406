"""Counterfactual video-language pretraining (counterfactual-pretraining.md §5): data, objectives, entry point.

Two objectives share one model and one optimiser, each with its own optimiser step:
- clips (every step): 4-frame EgoClip clips + scene-aware negatives vs frozen text features of the narration
  (EgoNCE-style alignment) and of its Before / After / 3 counterfactual states (frame-level state loss);
- summaries (every `aggregation_every` steps): 16 clips x 4 frames of a summary window -> aggregator vs the
  summary's text feature, its 20 counterfactual summaries as extra negatives.
Texts are never encoded here: every vector comes from the text-feature stores (results/features/text/*.h5).

`python -m egoflow.pretrain SPEC.json` trains one run (this is what torchrun / srun start); `run_pretrain(spec)`
does the same in-process. The spec is the run's resolved settings plus its input and output paths.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from egoflow.annotations.egoclip import read_egoclip
from egoflow.errors import InputError
from egoflow.features.hdf5_store import TextFeatureStore
from egoflow.text.schema import CLIP_FIELDS, SUMMARY_FIELDS
from egoflow.train import Objective, TrainConfig, publish_run, train
from egoflow.videos.reader import ClipReader
from egoflow.videos.transforms import TransformConfig, video_transform

SUMMARY_KINDS = ("order", "key")


# --- settings ---------------------------------------------------------------------------------------------


@dataclass
class DataConfig:
    num_frames: int = 4  # frames per clip (EgoVLP/CF pretraining)
    image_size: int = 224  # crop side fed to the model
    clips_per_summary: int = 16  # HierVL/CF long-video sampling
    max_clip_sec: float = 8.0  # sub-clip length of a summary window (HierVL: min(8, window))
    # Scene-aware negatives: a row of the same video with the same narration_time // neg_seconds; 0 = any row.
    neg_seconds: float = 60.0
    batch_size: int = 18  # anchors per process (plus as many negatives)
    summary_batch_size: int = 1  # summaries per process
    backend: str = "pyav"  # clip decoder: pyav | decord


@dataclass
class LossConfig:
    setting: int = 0  # ablation setting 0-6 (counterfactual-pretraining.md §5.4); 0 = the full method
    temperature: float = 0.05
    state_weight: float = 0.2
    symmetric: bool = False  # EgoVLP/HierVL EgoNCE adds text->video; the CF method is video->text only
    aggregation_every: int = 5  # a summary step after every 5th clip step; 0 = no video-level objective


def from_dict(cls, values: dict | None):
    """A dataclass from a dict; unknown keys fail naming the key (the schema checks them first in the workflow)."""
    values = dict(values or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    for f in fields(cls):
        if f.name in values and isinstance(values[f.name], list):
            values[f.name] = tuple(values[f.name])
    return cls(**values)


@dataclass
class PretrainSpec:
    run: str
    settings: dict  # the run's resolved config: model, data, loss, train, init
    inputs: dict  # manifest, egoclip, states, clip_features, egosummary, summary_cf, summary_features
    run_dir: str
    model_out: str
    config_out: str
    log_out: str
    extras: dict = field(default_factory=dict)


def resolve_run(section: dict, run: str) -> dict:
    """A run's settings: `section["defaults"]` with `section["runs"][run]` merged over it, key by key."""
    runs = section.get("runs") or {}
    if run not in runs:
        raise KeyError(f"pretrain.runs has no run {run!r}; runs: {', '.join(runs) or '(none)'}")
    return deep_merge(section.get("defaults") or {}, runs[run] or {})


# Settings that change how a run trains, not what it learns (resuming is bit-exact): kept out of the rule's
# params, so changing them reruns nothing.
RUN_ONLY = {
    "train": ("num_workers", "device", "log_every", "checkpoint_every", "keep_checkpoints", "stop_after")
}


def output_settings(settings: dict) -> dict:
    """`settings` without the RUN_ONLY keys."""
    return {
        section: {k: v for k, v in values.items() if k not in RUN_ONLY.get(section, ())}
        if isinstance(values, dict)
        else values
        for section, values in settings.items()
    }


def deep_merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = (
            deep_merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def config_hash(settings: dict) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


# --- data -------------------------------------------------------------------------------------------------


def _load_json(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(path, f"invalid JSON: {error.msg}", line=error.lineno) from None


def multi_hot(ids: list[int], size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.float32)
    out[[i for i in ids if 0 <= i < size]] = 1.0
    return out


class ClipReading:
    """Frames of (video, start, end) clips through the video stage's reader + transform, seeded per item."""

    def __init__(self, manifest: str | Path, data: DataConfig, mode: str):
        self.reader = ClipReader(manifest, backend=data.backend)
        size = data.image_size
        self.transform = video_transform(mode, TransformConfig(size=size, resize=round(size * 256 / 224)))
        self.mode, self.num_frames = mode, data.num_frames

    def read(self, uid: str, start: float, end: float, seed: tuple) -> torch.Tensor:
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        frames = self.reader.read(uid, start, end, self.num_frames, self.mode, rng)  # [T, H, W, 3]
        return self.transform(frames, gen)  # [T, 3, S, S]


class VideoTextDataset(torch.utils.data.Dataset):
    """Clips of the chunked videos with vectors from a text-feature store, both opened lazily in each
    DataLoader worker (h5py handles and open video files do not survive fork). Items are seeded by
    (seed, epoch, index), so a run is the same for any number of workers."""

    def __init__(self, manifest: str | Path, features_path: str | Path, data: DataConfig, seed: int):
        self.manifest, self.features_path = manifest, features_path
        self.data, self.seed, self.epoch = data, seed, 0
        self._features: TextFeatureStore | None = None
        self._video: ClipReading | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def features(self) -> TextFeatureStore:
        if self._features is None:
            self._features = TextFeatureStore(self.features_path)
        return self._features

    def video(self) -> ClipReading:
        if self._video is None:
            self._video = ClipReading(self.manifest, self.data, "train")
        return self._video

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_features"] = state["_video"] = None
        return state

    def __len__(self) -> int:
        return len(self.rows)


class ClipTextDataset(VideoTextDataset):
    """EgoClip rows whose narration has generated states; each item = anchor + its scene-aware negative."""

    def __init__(self, spec_inputs: dict, data: DataConfig, seed: int):
        super().__init__(spec_inputs["manifest"], spec_inputs["clip_features"], data, seed)
        table = read_egoclip(spec_inputs["egoclip"])
        states = _load_json(spec_inputs["states"])
        keep = table["clip_text"].isin(states)
        self.dropped = int((~keep).sum())  # narrations whose LLM answer failed validation (text stage errors)
        table = table[keep].reset_index(drop=True)
        known = set(ClipReader(spec_inputs["manifest"]).durations)
        table = table[table["video_uid"].isin(known)].reset_index(drop=True)
        if table.empty:
            raise InputError(spec_inputs["egoclip"], "no narration has generated states and a chunked video")
        self.rows = table[["video_uid", "clip_start", "clip_end", "clip_text", "narration_time"]].to_dict(
            "records"
        )
        self.verbs = table["tag_verb"].tolist()
        self.nouns = table["tag_noun"].tolist()
        self.num_verbs = 1 + max((max(v) for v in self.verbs if v), default=0)
        self.num_nouns = 1 + max((max(n) for n in self.nouns if n), default=0)
        self.states = {t: [states[t][k] for k in CLIP_FIELDS] for t in table["clip_text"]}
        # Scene-aware negatives: other rows of the same video segment (EgoVLP neg_param).
        self.segments: dict[tuple, list[int]] = {}
        if data.neg_seconds > 0:
            for i, row in enumerate(self.rows):
                key = (row["video_uid"], int(row["narration_time"] // data.neg_seconds))
                self.segments.setdefault(key, []).append(i)

    def negative_of(self, index: int) -> int:
        if not self.segments:
            return int(np.random.default_rng([self.seed, self.epoch, index, 1]).integers(len(self.rows)))
        row = self.rows[index]
        pool = self.segments[(row["video_uid"], int(row["narration_time"] // self.data.neg_seconds))]
        return pool[int(np.random.default_rng([self.seed, self.epoch, index, 1]).integers(len(pool)))]

    def item(self, index: int) -> dict:
        row = self.rows[index]
        texts = [row["clip_text"], *self.states[row["clip_text"]]]  # narration, Before, After, CF 1-3
        vectors = torch.from_numpy(self.features().get(texts))  # [6, Dt]
        return {
            "video": self.video().read(
                row["video_uid"], row["clip_start"], row["clip_end"], (self.seed, self.epoch, index)
            ),
            "text": vectors[0],
            "before": vectors[1],
            "after": vectors[2],
            "counterfactuals": vectors[3:6],
            "verbs": torch.from_numpy(multi_hot(self.verbs[index], self.num_verbs)),
            "nouns": torch.from_numpy(multi_hot(self.nouns[index], self.num_nouns)),
        }

    def __getitem__(self, index: int) -> tuple[dict, dict]:
        return self.item(index), self.item(self.negative_of(index))


def collate_with_negatives(items: list[tuple[dict, dict]]) -> dict:
    """[anchors; negatives] along dim 0, as upstream concatenates them: every tensor [2B, ...]."""
    rows = [a for a, _ in items] + [n for _, n in items]
    return {key: torch.stack([r[key] for r in rows]) for key in rows[0]}


class SummaryDataset(VideoTextDataset):
    """EgoSummary windows with generated counterfactual summaries: 16 sub-clips x 4 frames each."""

    def __init__(self, spec_inputs: dict, data: DataConfig, seed: int):
        super().__init__(spec_inputs["manifest"], spec_inputs["summary_features"], data, seed)
        table = read_egoclip(spec_inputs["egosummary"])
        cfs = _load_json(spec_inputs["summary_cf"])
        known = set(ClipReader(spec_inputs["manifest"]).durations)
        table = table[table["clip_text"].isin(cfs) & table["video_uid"].isin(known)].reset_index(drop=True)
        if table.empty:
            raise InputError(spec_inputs["egosummary"], "no summary has counterfactuals and a chunked video")
        self.rows = table[["video_uid", "clip_start", "clip_end", "clip_text"]].to_dict("records")
        self.cfs = {
            t: [cfs[t][kind][k] for kind in SUMMARY_KINDS for k in SUMMARY_FIELDS] for t in table["clip_text"]
        }

    def __getitem__(self, index: int) -> dict:
        row = self.rows[index]
        clips = summary_clip_windows(row["clip_start"], row["clip_end"], self.data)
        video = torch.stack(
            [
                self.video().read(row["video_uid"], s, e, (self.seed, self.epoch, index, k))
                for k, (s, e) in enumerate(clips)
            ]
        )  # [16, T, 3, S, S]
        vectors = torch.from_numpy(self.features().get([row["clip_text"], *self.cfs[row["clip_text"]]]))
        return {"video": video, "summary": vectors[0], "counterfactuals": vectors[1:]}  # [21, Dt] split


def summary_clip_windows(start: float, end: float, data: DataConfig) -> list[tuple[float, float]]:
    """The 16 sub-clips of a summary window (HierVL): length min(8 s, window), starts spread evenly.

    Upstream spreads starts over (end - start - length - 1 s), which goes negative for windows under ~9 s; here
    they are spread over (end - start - length), so every sub-clip lies inside the window.
    """
    length = min(data.max_clip_sec, end - start)
    span = max(0.0, end - start - length)
    k = data.clips_per_summary
    return [(start + i / max(1, k - 1) * span, start + i / max(1, k - 1) * span + length) for i in range(k)]


# --- the model as the loop sees it ------------------------------------------------------------------------


class CounterfactualPretraining(torch.nn.Module):
    """The video model plus the method's losses: forward(batch, objective) -> {loss term: scalar}."""

    def __init__(self, model: torch.nn.Module, loss: LossConfig):
        super().__init__()
        from egoflow.losses import LossSetting

        self.model = model
        self.loss = loss
        self.setting = LossSetting.from_setting(loss.setting)

    def forward(self, batch: dict, objective: str) -> dict[str, torch.Tensor]:
        if objective == "clips":
            return self.clip_losses(batch)
        if objective == "summaries":
            return self.summary_losses(batch)
        raise ValueError(f"unknown objective {objective!r}")

    def clip_losses(self, batch: dict) -> dict[str, torch.Tensor]:
        from egoflow.distributed import gather_no_grad, gather_with_grad, local_rows
        from egoflow.losses import egonce, state_change_loss, tag_positive_mask

        video, frames = self.model.encode_video(batch["video"])  # [n, P], [n, T, P]
        text = self.model.encode_text(batch["text"])  # [n, P] (identity unless text_dim != P)
        rows = local_rows(video.shape[0])
        video, frames, text = gather_with_grad(video), gather_with_grad(frames), gather_with_grad(text)
        positives = tag_positive_mask(gather_no_grad(batch["verbs"]), gather_no_grad(batch["nouns"]))
        tau = self.loss.temperature
        losses = {"align": egonce(video, text, positives, tau, symmetric=self.loss.symmetric, rows=rows)}
        if self.setting.state != "off":
            states = [self.model.encode_text(batch[k]) for k in ("before", "after", "counterfactuals")]
            before, after, cfs = (gather_with_grad(s) for s in states)
            losses["state"] = self.loss.state_weight * state_change_loss(
                frames, before, after, cfs, tau, variant=self.setting.state, rows=rows
            )
        return losses

    def summary_losses(self, batch: dict) -> dict[str, torch.Tensor]:
        from egoflow.distributed import gather_with_grad, local_rows
        from egoflow.losses import summary_loss

        b, k = batch["video"].shape[:2]
        clips, _ = self.model.encode_video(batch["video"].flatten(0, 1))  # [b*16, P]
        video = self.model.aggregate(clips.view(b, k, -1))  # [b, P]
        summary = self.model.encode_text(batch["summary"])  # [b, P]
        cfs = self.setting.parent_counterfactuals(
            self.model.encode_text(batch["counterfactuals"])
        )  # [b, K, P]|None
        rows = local_rows(b)
        video, summary = gather_with_grad(video), gather_with_grad(summary)
        cfs = gather_with_grad(cfs) if cfs is not None else None
        positives = torch.eye(video.shape[0], dtype=torch.bool, device=video.device)
        return {"summary": summary_loss(video, summary, cfs, positives, self.loss.temperature, rows=rows)}


# --- entry point ------------------------------------------------------------------------------------------


def build_model(settings: dict, text_dim: int) -> torch.nn.Module:
    from egoflow.models.counterfactual import CounterfactualModel, CounterfactualModelConfig

    model = CounterfactualModel(
        CounterfactualModelConfig.from_dict({**settings.get("model", {}), "text_dim": text_dim})
    )
    init = settings.get("init") or {}
    if init.get("checkpoint"):
        from egoflow.models.pretrained import load_pretrained

        report = load_pretrained(model, init["checkpoint"], source=init.get("source", "auto"))
        print(f"initialised from {init['checkpoint']}: {report}", file=sys.stderr)
    return model


def text_dim_of(path: str | Path) -> int:
    with TextFeatureStore(path) as store:
        return store.dim


def run_pretrain(spec: PretrainSpec) -> Path:
    settings = spec.settings
    data = from_dict(DataConfig, settings.get("data"))
    loss = from_dict(LossConfig, settings.get("loss"))
    train_cfg = from_dict(TrainConfig, settings.get("train"))
    if spec.extras.get("threads"):
        # The job's cores; a fixed count also keeps CPU float reductions, so resumed runs, bit-exact.
        torch.set_num_threads(int(spec.extras["threads"]))
    torch.manual_seed(train_cfg.seed)  # model initialisation is seeded by the run
    model = build_model(settings, text_dim_of(spec.inputs["clip_features"]))
    clips = ClipTextDataset(spec.inputs, data, train_cfg.seed)
    print(
        f"{len(clips)} narrated clips ({clips.dropped} narrations without generated states dropped)",
        file=sys.stderr,
    )
    objectives = [Objective("clips", clips, data.batch_size, collate=collate_with_negatives)]
    if loss.aggregation_every > 0:
        summaries = SummaryDataset(spec.inputs, data, train_cfg.seed)
        objectives.append(
            Objective("summaries", summaries, data.summary_batch_size, every=loss.aggregation_every)
        )
    run_config = {
        "run": spec.run,
        "settings": settings,
        "config_hash": config_hash(output_settings(settings)),
    }
    live = Path(spec.run_dir) / "checkpoints"
    train(
        CounterfactualPretraining(model, loss),
        objectives,
        train_cfg,
        spec.run_dir,
        spec.model_out,
        run_config=run_config,
        log_path=live / "log.csv",
    )
    publish_run(spec.run_dir, spec.model_out, spec.config_out, spec.log_out, run_config)
    return Path(spec.model_out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m egoflow.pretrain",
        description="Train one counterfactual-pretraining run from its spec (written by the pretrain_model rule).",
    )
    parser.add_argument(
        "spec", help="JSON file: run, settings, inputs, run_dir, model_out, config_out, log_out"
    )
    args = parser.parse_args(argv)
    spec = PretrainSpec(**_load_json(args.spec))
    run_pretrain(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
