"""Zero-shot evaluations of a pretrained video encoder (counterfactual-pretraining.md §6).

EgoMCQ (§6.3): for each question, the frozen text feature of the query narration against the 5 candidate clips
(4 uniform frames, test transform, `vid_proj` CLS); the prediction is the most similar clip (cosine); accuracy per
type, inter-video (1) and intra-video (2). SummaryMCQ (HierVL, types 3): the same with a summary against 5 video
windows, each encoded as 16 clips x 4 frames through the aggregator, as in pretraining's video-level objective.
EPIC-100 MIR (§6.1): 16 uniform frames per clip, one text per caption of the sentence table, relevancy from the
pickle (or the JPoSE rule), dual-softmax (upstream's only setting) or cosine similarity; mAP and nDCG both ways.
Charades-Ego (§6.2): the whole video, 16 uniform frames, class names without their id, cosine scores, mAP.
Every result is a JSON file that the results table can gather without knowing the system: {system, run, task,
split, metrics: {name: value x 100}, n, checkpoint, config_hash}.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from egoflow.annotations.egoclip import read_egomcq
from egoflow.atomic import write_text
from egoflow.checkpoint import load_checkpoint
from egoflow.metrics import (
    binomial_interval,
    charades_class_ap,
    charades_map,
    dual_softmax,
    jpose_relevancy,
    mcq_accuracy,
    mir_map,
    mir_ndcg,
)
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
    model,
    clips: list[tuple[str, float, float]],
    reading: ClipReading,
    device,
    batch_size: int = 16,
    normalise: bool = True,
) -> np.ndarray:
    """[N, P] video embeddings (L2-normalised unless told otherwise) of (video, start, end) clips, each read once."""
    out = []
    for start in tqdm(range(0, len(clips), batch_size), desc="clips", unit="batch", file=sys.stderr):
        videos = torch.stack([reading.read(u, s, e, (0,)) for u, s, e in clips[start : start + batch_size]])
        with torch.inference_mode():
            video, _ = model.encode_video(videos.to(device))  # [b, P]
        video = video.float()
        out.append((torch.nn.functional.normalize(video, dim=-1) if normalise else video).cpu().numpy())
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


def _encoder(checkpoint, text_encoder_config, device: str, frames: int, manifest):
    from egoflow.features.text_encoder import TextEncoder

    encoder = TextEncoder(text_encoder_config)
    dev = torch.device(device)
    model, run_config = load_trained(checkpoint, encoder.dim, dev)
    data = from_dict(DataConfig, (run_config.get("settings") or {}).get("data"))
    reading = ClipReading(manifest, data, "test")
    # Upstream feeds 16 frames; a model with fewer temporal slots gets as many as it has.
    reading.num_frames = min(frames, model.video_model.config.num_frames)
    return encoder, model, run_config, reading, dev


def _texts(model, encoder, texts: list[str], dev, normalise: bool = True) -> np.ndarray:
    with torch.inference_mode():
        text = model.encode_text(torch.from_numpy(encoder.encode(texts)).to(dev)).float()
        if normalise:
            text = torch.nn.functional.normalize(text, dim=-1)
    return text.cpu().numpy()


def _bootstrap(values: np.ndarray, n: int = 1000, seed: int = 0) -> list[float]:
    """95 % percentile interval of the mean of per-query values (resampling queries)."""
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return [float("nan")] * 2
    means = np.random.default_rng(seed).choice(values, (n, len(values))).mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def per_query_ap(sim: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """Each row's MIR average precision (NaN where it has no relevant item), for intervals over queries."""
    return np.array([mir_map(sim[i : i + 1], rel[i : i + 1]) for i in range(len(sim))])


SIMILARITIES = ("dual_softmax", "cosine")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True).clip(min=1e-12)


def _mir_scores(sim: np.ndarray, rel: np.ndarray) -> dict:
    """mAP / nDCG both directions and their means (x 100), per-query values and their 95 % intervals."""
    metrics = {"map_v2t": mir_map(sim, rel), "map_t2v": mir_map(sim.T, rel.T)}
    metrics["map_avg"] = (metrics["map_v2t"] + metrics["map_t2v"]) / 2
    metrics["ndcg_v2t"], metrics["ndcg_t2v"] = mir_ndcg(sim, rel), mir_ndcg(sim.T, rel.T)
    metrics["ndcg_avg"] = (metrics["ndcg_v2t"] + metrics["ndcg_t2v"]) / 2
    per_query = {
        "map_v2t": per_query_ap(sim, rel),
        "map_t2v": per_query_ap(sim.T, rel.T),
        "ndcg_v2t": per_query_ndcg(sim, rel),
        "ndcg_t2v": per_query_ndcg(sim.T, rel.T),
    }
    return {
        "metrics": {k: 100 * v for k, v in metrics.items()},
        "ci95": {k: [100 * x for x in _bootstrap(v)] for k, v in per_query.items()},
        "per_query": {k: [None if np.isnan(x) else 100 * float(x) for x in v] for k, v in per_query.items()},
    }


def per_query_ndcg(sim: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """Each row's MIR nDCG (NaN where its relevancies are all zero), for intervals over queries."""
    return np.array([mir_ndcg(sim[i : i + 1], rel[i : i + 1]) for i in range(len(sim))])


def epic_retrieval(
    checkpoint,
    test_csv,
    sentences_csv,
    relevancy,
    manifest,
    text_encoder_config,
    *,
    similarity: str = "dual_softmax",
    frames: int = 16,
    device: str = "cpu",
    batch_size: int = 16,
) -> dict:
    """Zero-shot EPIC-100 multi-instance retrieval: mAP and nDCG, V->T, T->V and their mean (x 100).

    relevancy: the pickled [clips x sentences] matrix, or None to compute it with the JPoSE rule from the CSVs
    (each caption takes the classes of its representative clip)."""
    from egoflow.annotations.epic import read_epic_relevancy, read_epic_segments, read_epic_sentences

    clips = read_epic_segments(test_csv)
    sentences = read_epic_sentences(sentences_csv, clips)
    row = {nid: i for i, nid in enumerate(clips["narration_id"])}
    captions = [row[nid] for nid in sentences["narration_id"]]  # the sentence table's representative clips
    if relevancy:
        rel = read_epic_relevancy(relevancy, (len(clips), len(sentences)))
    else:
        nouns = list(clips["all_noun_classes"])
        verbs = clips["verb_class"].to_numpy(dtype=np.int64)
        rel = jpose_relevancy(verbs, nouns, verbs[captions], [nouns[i] for i in captions])
    encoder, model, run_config, reading, dev = _encoder(
        checkpoint, text_encoder_config, device, frames, manifest
    )
    spans = list(
        zip(
            clips["video_id"], clips["start_sec"].astype(float), clips["stop_sec"].astype(float), strict=False
        )
    )
    texts = list(sentences["narration"])
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be dual_softmax or cosine, not {similarity!r}")
    # One encoding pass serves both similarities (cosine is the normalised raw embeddings).
    videos = encode_clips(model, spans, reading, dev, batch_size, normalise=False)  # [V, P]
    captions_raw = _texts(model, encoder, texts, dev, normalise=False)  # [S, P]
    sims = {
        # Upstream: raw (un-normalised) embeddings, dual softmax over texts x videos.
        "dual_softmax": dual_softmax(captions_raw, videos),  # [V, S]
        "cosine": (_unit(videos) @ _unit(captions_raw).T + 1) / 2,  # [V, S]
    }
    by_similarity = {name: _mir_scores(sim, rel) for name, sim in sims.items()}
    chosen = by_similarity[similarity]
    return {
        "metrics": chosen["metrics"],
        "n": {"videos": len(clips), "sentences": len(sentences)},
        "ci95": chosen["ci95"],
        "per_query": chosen["per_query"],
        # Both similarities, whichever is configured: the fine-tuning loss trains cosine similarities.
        "by_similarity": by_similarity,
        "similarity": similarity,
        "frames": reading.num_frames,
        "relevancy": "pickle" if relevancy else "jpose",
        "config_hash": run_config.get("config_hash", ""),
    }


def charades_ego(
    checkpoint,
    test_csv,
    classes_txt,
    manifest,
    text_encoder_config,
    *,
    frames: int = 16,
    device: str = "cpu",
    batch_size: int = 16,
) -> dict:
    """Zero-shot Charades-Ego recognition: cosine of each whole video (16 uniform frames) with each class name,
    Charades mAP (x 100); classes without a positive test video are listed, not averaged in."""
    from egoflow.annotations.charades import read_charades, read_charades_classes

    videos_table = read_charades(test_csv)
    classes = read_charades_classes(classes_txt)
    column = {cid: i for i, cid in enumerate(classes["id"])}
    targets = np.zeros((len(videos_table), len(classes)), np.int64)
    for i, actions in enumerate(videos_table["actions"]):
        for cid, _, _ in actions:
            targets[i, column[cid]] = 1
    encoder, model, run_config, reading, dev = _encoder(
        checkpoint, text_encoder_config, device, frames, manifest
    )
    spans = [
        (uid, 0.0, float(length))
        for uid, length in zip(videos_table["id"], videos_table["length"], strict=False)
    ]
    scores = (
        encode_clips(model, spans, reading, dev, batch_size)
        @ _texts(model, encoder, list(classes["name"]), dev).T
    )
    ap = charades_class_ap(scores, targets)
    finite = ap[np.isfinite(ap)]
    return {
        "metrics": {"map": 100 * charades_map(scores, targets)},
        "n": {
            "videos": len(videos_table),
            "classes": len(classes),
            "classes_with_positives": int(len(finite)),
        },
        "ci95": {"map": [100 * x for x in _bootstrap(finite)]},
        "per_class_ap": {
            cid: None if np.isnan(a) else 100 * float(a) for cid, a in zip(classes["id"], ap, strict=False)
        },
        "classes_without_positives": [cid for cid, a in zip(classes["id"], ap, strict=False) if np.isnan(a)],
        "frames": reading.num_frames,
        "config_hash": run_config.get("config_hash", ""),
    }


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


# --- fine-tuning for EPIC-100 MIR (MI-MM), through the one training loop ---------------------------------


@dataclass
class FinetuneConfig:
    frames: int = 16  # uniform frames per training clip (upstream 16; capped at the model's temporal slots)
    margin: float = 0.2  # MI-MM margin (EgoVLP's epic config), scaled per row by its positive's relevancy
    batch_size: int = 16
    positive_threshold: float = 0.1  # a clip's positives: captions with relevancy above this (upstream 0.1)
    in_batch_relevancy: bool = False  # not upstream: also scale each pair's margin by 1 - its relevancy


def batch_relevancy(
    verbs: torch.Tensor,
    nouns: torch.Tensor,
    verbs2: torch.Tensor | None = None,
    nouns2: torch.Tensor | None = None,
) -> torch.Tensor:
    """JPoSE relevancy [B, B'] of verb classes [B] + multi-hot noun classes [B, C] against a second set
    (default: the same): 1/2 [same verb] + 1/2 IoU of the noun sets."""
    verbs2 = verbs if verbs2 is None else verbs2
    nouns, nouns2 = nouns.float(), (nouns if nouns2 is None else nouns2).float()
    inter = nouns @ nouns2.T
    union = nouns.sum(1)[:, None] + nouns2.sum(1)[None, :] - inter
    iou = torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(inter))
    return 0.5 * (verbs[:, None] == verbs2[None, :]).float() + 0.5 * iou


class EpicTrainClips(torch.utils.data.Dataset):
    """EPIC-100 training segments as upstream samples them: the clip's frames (train transform, seeded per (seed,
    epoch, index)) and one positive caption drawn uniformly (seeded alike) among the training captions (the
    distinct narrations) whose JPoSE relevancy to the clip exceeds `threshold`, with that relevancy as the
    pair's margin weight (the clip's own narration, weight 1, when none does). The reader opens lazily."""

    def __init__(
        self,
        table,
        captions: list[str],
        text: np.ndarray,
        manifest,
        data: DataConfig,
        seed: int,
        threshold: float = 0.1,
    ):
        self.spans = list(
            zip(
                table["video_id"],
                table["start_sec"].astype(float),
                table["stop_sec"].astype(float),
                strict=True,
            )
        )
        self.text = torch.from_numpy(np.asarray(text, np.float32))  # [captions, D]
        self.verbs = torch.tensor(table["verb_class"].to_numpy(dtype=np.int64))
        n_nouns = 1 + max(int(c) for nouns in table["all_noun_classes"] for c in nouns)
        self.nouns = torch.zeros(len(table), n_nouns)
        for i, nouns in enumerate(table["all_noun_classes"]):
            self.nouns[i, [int(c) for c in nouns]] = 1
        # A caption's classes are those of the first segment it narrates (captions share classes by construction).
        first = {n: i for i, n in reversed(list(enumerate(table["narration"])))}
        index = {c: k for k, c in enumerate(captions)}
        self.own = torch.as_tensor([index[n] for n in table["narration"]])
        rows = torch.as_tensor([first[c] for c in captions])
        self.cap_verbs, self.cap_nouns = self.verbs[rows], self.nouns[rows]
        self.threshold = threshold
        self.manifest, self.data, self.seed, self.epoch = manifest, data, seed, 0
        self._reading: ClipReading | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getstate__(self):
        return {**self.__dict__, "_reading": None}

    def __len__(self) -> int:
        return len(self.spans)

    def positive(self, i: int) -> tuple[int, float]:
        """Clip i's sampled caption index and its relevancy (upstream: relevancy > 0.1, else its own, weight 1)."""
        rel = batch_relevancy(self.verbs[i : i + 1], self.nouns[i : i + 1], self.cap_verbs, self.cap_nouns)[0]
        candidates = torch.nonzero(rel > self.threshold).flatten()
        if len(candidates) == 0:
            return int(self.own[i]), 1.0
        rng = np.random.default_rng([self.seed, self.epoch, i, 1])
        j = int(candidates[rng.integers(len(candidates))])
        return j, float(rel[j])

    def __getitem__(self, i: int) -> dict:
        if self._reading is None:
            self._reading = ClipReading(self.manifest, self.data, "train")
        uid, start, end = self.spans[i]
        video = self._reading.read(uid, start, end, (self.seed, self.epoch, i))
        j, weight = self.positive(i)
        return {
            "video": video,
            "text": self.text[j],
            "weight": torch.tensor(weight),
            "verbs": self.verbs[i],
            "nouns": self.nouns[i],
            "cap_verbs": self.cap_verbs[j],
            "cap_nouns": self.cap_nouns[j],
        }


class MIRFinetuning(torch.nn.Module):
    """The pretrained model (kept as `.model`, so the weights load like a pretraining run's) + the MI-MM loss on
    cosine similarities of the batch's clips and their sampled captions."""

    def __init__(self, model: torch.nn.Module, margin: float, in_batch_relevancy: bool = False):
        super().__init__()
        self.model, self.margin, self.in_batch_relevancy = model, margin, in_batch_relevancy

    def forward(self, batch: dict, objective: str = "mir") -> dict[str, torch.Tensor]:
        from egoflow.losses import mi_max_margin

        video, _ = self.model.encode_video(batch["video"])  # [B, P]
        text = self.model.encode_text(batch["text"])  # [B, P]
        sim = torch.nn.functional.normalize(video, dim=-1) @ torch.nn.functional.normalize(text, dim=-1).T
        rel = None
        if self.in_batch_relevancy:
            rel = batch_relevancy(batch["verbs"], batch["nouns"], batch["cap_verbs"], batch["cap_nouns"])
        return {"mimm": mi_max_margin(sim, batch["weight"], self.margin, rel)}


def _steps(train_cfg) -> dict:
    """The training settings that change a fine-tuned model's weights (for its config hash)."""
    return {k: getattr(train_cfg, k) for k in ("max_steps", "lr", "weight_decay", "schedule", "seed")}


def finetune_mir(
    checkpoint,
    train_csv,
    manifest,
    text_encoder_config,
    run_dir,
    model_out,
    *,
    run: str,
    finetune: FinetuneConfig,
    train_cfg,
    threads: int = 0,
) -> Path:
    """Fine-tune a pretraining run's encoder on EPIC-100 training segments with MI-MM (egoflow.train.train: the
    same checkpoints, resume and signal handling as pretraining). The result loads with `load_trained`."""
    from egoflow.annotations.epic import read_epic_segments
    from egoflow.features.text_encoder import TextEncoder
    from egoflow.pretrain import config_hash
    from egoflow.train import Objective, train

    if threads:
        torch.set_num_threads(int(threads))
    torch.manual_seed(train_cfg.seed)
    table = read_epic_segments(train_csv)
    encoder = TextEncoder(text_encoder_config)
    narrations = sorted(set(table["narration"]))
    features = dict(zip(narrations, encoder.encode(narrations), strict=True))
    model, run_config = load_trained(checkpoint, encoder.dim, torch.device("cpu"))
    model.train()
    settings = dict(run_config.get("settings") or {})
    data = from_dict(DataConfig, settings.get("data"))
    data.num_frames = min(finetune.frames, model.video_model.config.num_frames)
    clips = EpicTrainClips(
        table,
        narrations,
        np.stack([features[n] for n in narrations]),
        manifest,
        data,
        train_cfg.seed,
        finetune.positive_threshold,
    )
    print(
        f"fine-tuning on {len(clips)} EPIC-100 training segments, {data.num_frames} frames", file=sys.stderr
    )
    out_config = {
        "run": run,
        "settings": settings,
        "finetune": {"task": "epic_mir", **vars(finetune), "from": str(checkpoint)},
        "config_hash": config_hash(
            {
                "from": run_config.get("config_hash", ""),
                "finetune": vars(finetune),
                "train": _steps(train_cfg),
            }
        ),
    }
    return train(
        MIRFinetuning(model, finetune.margin, finetune.in_batch_relevancy),
        [Objective("mir", clips, finetune.batch_size)],
        train_cfg,
        run_dir,
        model_out,
        run_config=out_config,
    )


# --- fine-tuning for Charades-Ego (multi-label), through the one training loop -------------------------------


class CharadesTrainVideos(torch.utils.data.Dataset):
    """Charades-Ego training videos: uniform frames of the whole video (train transform, seeded per (seed,
    epoch, index)) and the multi-hot targets of its action classes."""

    def __init__(self, table, class_ids: list[str], manifest, data: DataConfig, seed: int):
        column = {cid: i for i, cid in enumerate(class_ids)}
        self.spans = [
            (uid, 0.0, float(length)) for uid, length in zip(table["id"], table["length"], strict=True)
        ]
        self.targets = torch.zeros(len(table), len(class_ids))
        for i, actions in enumerate(table["actions"]):
            for cid, _, _ in actions:
                self.targets[i, column[cid]] = 1
        self.manifest, self.data, self.seed, self.epoch = manifest, data, seed, 0
        self._reading: ClipReading | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getstate__(self):
        return {**self.__dict__, "_reading": None}

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, i: int) -> dict:
        if self._reading is None:
            self._reading = ClipReading(self.manifest, self.data, "train")
        uid, start, end = self.spans[i]
        return {
            "video": self._reading.read(uid, start, end, (self.seed, self.epoch, i)),
            "targets": self.targets[i],
        }


class CharadesFinetuning(torch.nn.Module):
    """The pretrained model (as `.model`) scoring each video against every class name: logits = cosine / tau
    (the zero-shot scores, sharpened), trained with per-class binary cross-entropy."""

    def __init__(self, model: torch.nn.Module, class_text: torch.Tensor, temperature: float = 0.05):
        super().__init__()
        self.model, self.temperature = model, temperature
        self.register_buffer("class_text", class_text, persistent=False)  # [C, D] frozen text features

    def forward(self, batch: dict, objective: str = "charades") -> dict[str, torch.Tensor]:
        from egoflow.losses import multilabel_bce

        video, _ = self.model.encode_video(batch["video"])  # [B, P]
        text = self.model.encode_text(self.class_text)  # [C, P]
        logits = _unit_t(video) @ _unit_t(text).T / self.temperature  # [B, C]
        return {"bce": multilabel_bce(logits, batch["targets"])}


def _unit_t(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=-1)


def finetune_charades(
    checkpoint,
    train_csv,
    classes_txt,
    manifest,
    text_encoder_config,
    run_dir,
    model_out,
    *,
    run: str,
    finetune: FinetuneConfig,
    train_cfg,
    temperature: float = 0.05,
    threads: int = 0,
) -> Path:
    """Fine-tune a pretraining run's encoder on Charades-Ego training videos (multi-label BCE over class-name
    similarities) through egoflow.train.train; the result loads with `load_trained` and is scored by
    `charades_ego` like a pretraining run."""
    from egoflow.annotations.charades import read_charades, read_charades_classes
    from egoflow.features.text_encoder import TextEncoder
    from egoflow.pretrain import config_hash
    from egoflow.train import Objective, train

    if threads:
        torch.set_num_threads(int(threads))
    torch.manual_seed(train_cfg.seed)
    classes = read_charades_classes(classes_txt)
    table = read_charades(train_csv, classes=classes)
    encoder = TextEncoder(text_encoder_config)
    class_text = torch.from_numpy(np.asarray(encoder.encode(list(classes["name"])), np.float32))
    model, run_config = load_trained(checkpoint, encoder.dim, torch.device("cpu"))
    model.train()
    settings = dict(run_config.get("settings") or {})
    data = from_dict(DataConfig, settings.get("data"))
    data.num_frames = min(finetune.frames, model.video_model.config.num_frames)
    videos = CharadesTrainVideos(table, list(classes["id"]), manifest, data, train_cfg.seed)
    print(
        f"fine-tuning on {len(videos)} Charades-Ego training videos, {data.num_frames} frames",
        file=sys.stderr,
    )
    settings_out = {"task": "charades_ego", "batch_size": finetune.batch_size, "frames": finetune.frames}
    out_config = {
        "run": run,
        "settings": settings,
        "finetune": {**settings_out, "temperature": temperature, "from": str(checkpoint)},
        "config_hash": config_hash(
            {
                "from": run_config.get("config_hash", ""),
                "finetune": {**settings_out, "temperature": temperature},
                "train": _steps(train_cfg),
            }
        ),
    }
    return train(
        CharadesFinetuning(model, class_text, temperature),
        [Objective("charades", videos, finetune.batch_size)],
        train_cfg,
        run_dir,
        model_out,
        run_config=out_config,
    )


def retrieval_task(task: str, inputs, *, text, protocol: dict, device: str, batch_size: int) -> dict:
    """The result of one EPIC-100 MIR (`epic_mir`) or Charades-Ego (`charades_ego`) job from its named inputs
    (checkpoint, manifest, test, sentences + optional relevancy | classes), as the workflow's rules pass them."""
    common = {"frames": protocol["frames"], "device": device, "batch_size": batch_size}
    if task == "epic_mir":
        return epic_retrieval(
            inputs["checkpoint"],
            inputs["test"],
            inputs["sentences"],
            inputs.get("relevancy"),
            inputs["manifest"],
            text,
            similarity=protocol["similarity"],
            **common,
        )
    if task == "charades_ego":
        return charades_ego(
            inputs["checkpoint"], inputs["test"], inputs["classes"], inputs["manifest"], text, **common
        )
    raise ValueError(f"unknown retrieval task {task!r} (epic_mir | charades_ego)")


def run_retrieval_rule(
    task: str, inputs: dict, out, *, run: str, text: dict, protocol: dict, settings: dict
) -> dict:
    """One retrieval job of the workflow (evaluate_retrieval, evaluate_finetuned): score `task` with the
    checkpoint in `inputs` and write its result row to `out` under the name `run`. `text`: the text model
    settings (model, max_length); `settings`: the config's evaluate section (device, batch size)."""
    from egoflow.devices import pick_device
    from egoflow.features.text_encoder import TextEncoderConfig

    result = retrieval_task(
        task,
        inputs,
        text=TextEncoderConfig(**text, device=settings["device"]),
        protocol=protocol,
        device=pick_device(settings["device"]),
        batch_size=settings["batch_size"],
    )
    write_result(
        out, system="counterfactual", run=run, task=task, split="test", checkpoint=inputs["checkpoint"],
        result=result,
    )  # fmt: skip
    return result


def run_finetune_rule(
    task: str,
    inputs: dict,
    model_out,
    log_out,
    run_dir,
    *,
    run: str,
    text: dict,
    chosen: dict,
    settings: dict,
    threads: int = 0,
) -> Path:
    """One fine-tuning job of the workflow (evaluate_finetune for epic_mir, evaluate_finetune_charades for
    charades_ego): train `run` from the checkpoint in `inputs`, then copy its live log to the rule's `log_out`.
    `chosen`: the settings that change the weights (the rule's params); `settings`: the config's evaluate
    section (device and the run settings checkpoint_every / log_every)."""
    from egoflow.atomic import write_text
    from egoflow.features.text_encoder import TextEncoderConfig
    from egoflow.train import TrainConfig

    ft = settings["finetune"]
    train_cfg = TrainConfig(
        max_steps=chosen["max_steps"], lr=chosen["lr"], seed=chosen["seed"], checkpoint_every=ft["checkpoint_every"],
        log_every=ft["log_every"], device=settings["device"],
    )  # fmt: skip
    common = dict(
        text_encoder_config=TextEncoderConfig(**text, device=settings["device"]),
        run_dir=Path(run_dir), model_out=model_out, run=run, train_cfg=train_cfg, threads=threads,
    )  # fmt: skip
    if task == "epic_mir":
        finetune = FinetuneConfig(
            chosen["frames"], chosen["margin"], chosen["batch_size"], chosen["positive_threshold"],
            chosen["in_batch_relevancy"],
        )  # fmt: skip
        path = finetune_mir(
            inputs["checkpoint"], inputs["train"], inputs["manifest"], finetune=finetune, **common
        )
    elif task == "charades_ego":
        finetune = FinetuneConfig(frames=chosen["frames"], batch_size=chosen["batch_size"])
        path = finetune_charades(
            inputs["checkpoint"], inputs["train"], inputs["classes"], inputs["manifest"], finetune=finetune,
            temperature=chosen["temperature"], **common,
        )  # fmt: skip
    else:
        raise ValueError(f"no fine-tuning for task {task!r} (epic_mir, charades_ego)")
    log = Path(run_dir) / "log.csv"
    if not Path(log_out).exists():
        write_text(log_out, log.read_text() if log.exists() else "step,epoch\n")
    return path
