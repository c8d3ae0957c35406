"""Pretraining throughput: which side bounds training, the model or the clip loader (prints numbers; asserts nothing).

CPU (always):
1. [tiny] the demo's tiny model (pretrain.defaults of config/config.yaml; a built-in copy while that has none)
   on random in-memory inputs: steps/s and clips/s through the real loop `egoflow.train.train` (a clip step
   every step, a summary step every `aggregation_every`), and the same forward/backward/AdamW steps bare; the
   ratio loop / bare says what the loop itself costs.
2. [loader] the real loader on chunked videos: the tiny demo world rendered here and cut by the video stage's
   jobs at the workflow's chunk settings (config/config.yaml videos.chunks: 256 px, 600 s chunks, GOP 16);
   random 1 s clips of 4 frames in train mode. ClipReading.read in this process (one thread; clips per wall and
   per CPU second, and the train transform's share), then a DataLoader over egoflow.videos.dataset.ClipDataset
   with 1 and 2 workers (--workers): clips/s and clips/s/worker, at 64 px (demo) and 224 px (paper) crops.
   Clips come in anchor + negative pairs, as ClipTextDataset reads them: every anchor opens its file (as with
   Ego4D's thousands of videos), its scene-aware negative (same video, within 30 s) reuses it. Last, the
   demo's own chunks (config/tiny.yaml) with the demo's worker count, for the demo's verdict.
3. [paths] data-path options on 454x256 testsrc2 video (Ego4D's 16:9 at 256 px), one thread, 224 px: GOP 16 vs
   250 at 600 s chunks, and 15 s chunks (AVION). Skipped with --quick.
GPU (when CUDA is available and --device is not cpu):
4. [gpu] the loader at 224 px with workers = the CPU count, then the paper-size model (ViT-B/16, 224 px,
   4 frames, 768-d) on random inputs already on the GPU, bf16 autocast, eager and with --compile torch.compile:
   clips/s and model FLOPs utilisation MFU = 3 x flops_per_clip x clips/s / peak, the peak being a bf16
   8192^3 matmul measured in the same run. Goal >= 44 % (timm's ViT-B/16 with torch.compile on an H100).
Then [bound]: model clips/s vs loader clips/s, and which side bounds training.

This machine may be shared: wall-clock rates then vary from run to run; the per-CPU-second rates do not.

Usage: .venv/bin/python benchmarks/pretrain.py [--quick] [--device auto|cpu|cuda] [--steps N] [--workers 1,2]
                                               [--threads 1] [--compile] [--batch 32] [--work DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from torch.utils.data import DataLoader, Dataset

from egoflow.models.counterfactual import CounterfactualModel, CounterfactualModelConfig
from egoflow.models.video_transformer import flops_per_clip
from egoflow.pretrain import (
    CounterfactualPretraining,
    DataConfig,
    LossConfig,
    build_model,
    collate_with_negatives,
    deep_merge,
    from_dict,
)
from egoflow.text.schema import SUMMARY_FIELDS
from egoflow.train import Objective, TrainConfig, train
from egoflow.videos.dataset import ClipDataset, ClipDatasetConfig
from egoflow.videos.manifest import write_manifest
from egoflow.videos.probe import write_probe
from egoflow.videos.reader import ClipReader
from egoflow.videos.transcode import ChunkConfig, write_chunks
from egoflow.videos.transforms import TransformConfig

ROOT = Path(__file__).resolve().parents[1]
FFMPEG = ["ffmpeg", "-nostdin", "-v", "error", "-y"]

# pretrain.defaults of the demo (issue 9), used when config/config.yaml has no pretrain section yet.
DEMO_DEFAULTS = {
    "model": {
        "video": {"img_size": 64, "patch_size": 16, "dim": 64, "depth": 2, "heads": 4, "num_frames": 16},
        "projection": "minimal",
        "projection_dim": 64,
        "aggregator": {"kind": "self-attention", "depth": 2, "heads": 4},
    },
    "data": {
        "num_frames": 4,
        "image_size": 64,
        "clips_per_summary": 16,
        "batch_size": 8,
        "summary_batch_size": 2,
    },
    "loss": {"setting": 0, "temperature": 0.05, "state_weight": 0.2, "aggregation_every": 5},
    "train": {
        "lr": 3e-4,
        "schedule": "cosine",
        "warmup_steps": 20,
        "log_every": 10,
        "seed": 0,
        "num_workers": 1,
    },
}
DEMO_TEXT_DIM = 32  # the demo's tiny FLAVA text features (egoflow.features.tiny_models)
PAPER_TEXT_DIM = 768  # FLAVA's unprojected CLS
VERBS, NOUNS = 20, 40  # tag vocabulary of the random labels (EgoNCE positives share a verb and a noun)
SUMMARY_CFS = 2 * len(SUMMARY_FIELDS)  # 10 misordered + 10 missing-step counterfactual summaries per video
CLIP_SEC = 1.0  # EgoClip clips last about a second


def demo_settings() -> tuple[dict, str]:
    """The demo run's settings: pretrain.defaults of config/config.yaml, or the built-in copy."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    defaults = (config.get("pretrain") or {}).get("defaults")
    if defaults:
        return defaults, "config/config.yaml pretrain.defaults"
    return DEMO_DEFAULTS, "built-in copy of the demo's pretrain.defaults"


@contextlib.contextmanager
def quiet():
    """Hide progress bars and per-job lines on stderr; show them if the block fails."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(buffer):
            yield
    except BaseException:
        sys.stderr.write(buffer.getvalue()[-4000:])
        raise


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- random inputs --------------------------------------------------------------------------------------------
def random_clips(n: int, frames: int, size: int, text_dim: int, device="cpu") -> dict:
    """n clips as collate_with_negatives stacks them (anchors, then negatives): every tensor [n, ...]."""
    g = torch.Generator(device).manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=g, device=device)

    def tags(k: int) -> torch.Tensor:
        return F.one_hot(torch.randint(0, k, (n,), generator=g, device=device), k).float()  # [n, k]

    return {
        "video": randn(n, frames, 3, size, size),
        "text": randn(n, text_dim),
        "before": randn(n, text_dim),
        "after": randn(n, text_dim),
        "counterfactuals": randn(n, 3, text_dim),
        "verbs": tags(VERBS),
        "nouns": tags(NOUNS),
    }


def random_summaries(n: int, clips: int, frames: int, size: int, text_dim: int, device="cpu") -> dict:
    g = torch.Generator(device).manual_seed(1)
    return {
        "video": torch.randn(n, clips, frames, 3, size, size, generator=g, device=device),
        "summary": torch.randn(n, text_dim, generator=g, device=device),
        "counterfactuals": torch.randn(n, SUMMARY_CFS, text_dim, generator=g, device=device),
    }


class PoolDataset(Dataset):
    """A long dataset cycling through a small pool of random rows (no epoch ends, no checkpoints)."""

    def __init__(self, pool: dict, pairs: bool, length: int = 1_000_000):
        self.pool, self.pairs, self.length = pool, pairs, length
        self.n = next(iter(pool.values())).shape[0]

    def __len__(self) -> int:
        return self.length

    def row(self, i: int) -> dict:
        return {key: value[i % self.n] for key, value in self.pool.items()}

    def __getitem__(self, i: int):
        if self.pairs:  # (anchor, negative), as ClipTextDataset gives them
            return self.row(i), self.row(i + 1)
        return self.row(i)


# --- 1. the tiny model on CPU -----------------------------------------------------------------------------------
def bare_step(model, optimizer, batch: dict, objective: str, autocast) -> None:
    """One optimiser step exactly as the loop takes it (egoflow.train.train), without the loop around it."""
    with autocast:
        losses = model(batch, objective=objective)
    loss = sum(losses.values())  # the pretraining objectives weight every term 1.0 (state_weight is inside)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def time_steps(fn, steps: int, warmup: int, device: torch.device) -> tuple[float, float]:
    """(wall, CPU) seconds per call after `warmup` calls. CPU time is this process's: on a shared machine it
    is what the call costs when it has a core to itself (with one thread)."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / steps, (time.process_time() - cpu) / steps


def tiny_model(steps: int, threads: int, work: Path) -> float:
    """Tiny model steps/s through train() and bare; returns the loop's clips/s."""
    torch.set_num_threads(threads)
    settings, source = demo_settings()
    data = from_dict(DataConfig, settings.get("data"))
    loss = from_dict(LossConfig, settings.get("loss"))
    cfg = from_dict(TrainConfig, settings.get("train"))
    B, T, S, every = data.batch_size, data.num_frames, data.image_size, loss.aggregation_every
    # Timing windows of whole summary cycles, so every window has the same mix of steps.
    cycle = every or 1
    log_every = cycle * max(1, round(min(cfg.log_every, steps // 4) / cycle))
    # Random data in memory (the loader is measured on its own); no checkpoints inside the timed steps.
    cfg = dataclasses.replace(cfg, max_steps=steps + log_every, log_every=log_every, checkpoint_every=10**9)
    cfg = dataclasses.replace(cfg, num_workers=0, device="cpu", compile=False)
    clips_pool = random_clips(2 * B, T, S, DEMO_TEXT_DIM)
    summary_pool = random_summaries(data.summary_batch_size, data.clips_per_summary, T, S, DEMO_TEXT_DIM)
    objectives = [Objective("clips", PoolDataset(clips_pool, pairs=True), B, collate=collate_with_negatives)]
    if every > 0:
        summaries = PoolDataset(summary_pool, pairs=False)
        objectives.append(Objective("summaries", summaries, data.summary_batch_size, every=every))
    print(
        f"[tiny] {source}: video {S} px x {T} frames, dim {settings['model']['video'].get('dim')}, "
        f"depth {settings['model']['video'].get('depth')}; {B} anchors + {B} negatives per step, "
        f"{data.summary_batch_size} summaries x {data.clips_per_summary} clips every {every} steps; "
        f"torch threads {torch.get_num_threads()}"
    )

    torch.manual_seed(0)
    model = CounterfactualPretraining(build_model(settings, DEMO_TEXT_DIM), loss)
    run = work / "tiny-run"
    shutil.rmtree(run, ignore_errors=True)
    with quiet():
        train(model, objectives, cfg, run, run / "model.pt")
    with open(run / "log.csv", newline="") as f:
        rows = [(int(r["step"]), float(r["time"])) for r in csv.DictReader(f)]
    # Windows between logged steps; start-up (TensorBoard, the first batches) comes before the first row.
    windows = [(a, b, tb - ta) for (a, ta), (b, tb) in zip(rows, rows[1:], strict=False)]
    summary_clips = data.summary_batch_size * data.clips_per_summary

    def clips_in(a: int, b: int) -> int:  # clips encoded in steps a+1..b (a summary step when s % every == 0)
        return 2 * B * (b - a) + summary_clips * sum(
            1 for s in range(a + 1, b + 1) if every and s % every == 0
        )

    loop_rates = sorted((b - a) / t for a, b, t in windows)
    loop_clips = sorted(clips_in(a, b) / t for a, b, t in windows)

    # The same steps without the loop: a clip step every step, a summary step on every `every`-th.
    torch.manual_seed(0)
    model = CounterfactualPretraining(build_model(settings, DEMO_TEXT_DIM), loss)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    clip_batch = collate_with_negatives([PoolDataset(clips_pool, pairs=True)[i] for i in range(B)])
    off = contextlib.nullcontext()

    def steps_from(first: int) -> None:
        for s in range(first + 1, first + log_every + 1):
            bare_step(model, optimizer, clip_batch, "clips", off)
            if every and s % every == 0:
                bare_step(model, optimizer, summary_pool, "summaries", off)

    steps_from(0)  # warm-up
    bare = sorted(time_steps(lambda a=a: steps_from(a), 1, 0, torch.device("cpu")) for a, _, _ in windows)
    bare_rates = sorted(log_every / wall for wall, _ in bare)
    bare_cpu = sorted(log_every / cpu for _, cpu in bare)

    def median(values: list[float]) -> float:
        return values[len(values) // 2]

    print(
        f"[tiny] train() loop: {median(loop_rates):.2f} steps/s, {median(loop_clips):.0f} clips/s (median of "
        f"{len(windows)} windows of {log_every} steps; fastest {loop_rates[-1]:.2f} steps/s)"
    )
    print(
        f"[tiny] the same steps bare: {median(bare_rates):.2f} steps/s (fastest {bare_rates[-1]:.2f}), "
        f"{median(bare_cpu):.2f} steps per CPU second; loop / bare = {loop_rates[-1] / bare_rates[-1]:.2f} "
        "(fastest windows: the least disturbed by other jobs)"
    )
    return median(loop_clips)


# --- 2. the loader ----------------------------------------------------------------------------------------------
def chunk_set(work: Path, name: str, sources: dict[str, Path], cfg: ChunkConfig) -> Path:
    """The video stage's probe + resize_chunk jobs on each source, and the manifest over them."""
    folder = work / name
    manifest = folder / "manifest.tsv"
    if manifest.exists():
        return manifest
    probes, dirs = [], []
    with quiet():
        for uid, src in sources.items():
            probes.append(folder / "probe" / f"{uid}.json")
            dirs.append(folder / "chunks" / uid)
            write_probe(src, uid, probes[-1])
            write_chunks(src, probes[-1], dirs[-1], cfg, threads=2)
    write_manifest(probes, dirs, manifest, folder / "rejected.tsv")
    return manifest


def chunk_settings(*overlays: str) -> ChunkConfig:
    """videos.chunks of config/config.yaml with the overlays' over it (the keys are ChunkConfig's fields)."""
    settings: dict = {}
    for name in ("config.yaml", *overlays):
        config = yaml.safe_load((ROOT / "config" / name).read_text()) or {}
        settings = deep_merge(settings, (config.get("videos") or {}).get("chunks") or {})
    return ChunkConfig(**settings)


def demo_chunks(work: Path, videos: int, cfg: ChunkConfig) -> Path:
    """The tiny demo world's first `videos` videos, cut by the video stage's jobs with `cfg`."""
    from egoflow.demo import plan_world, write_world

    world = work / "world"
    if not (world / "sheet.tsv").exists():
        with quiet():
            write_world(world, size="tiny", seed=0)
    sources = {v.uid: world / v.video_file for v in plan_world("tiny", 0).videos[:videos]}
    name = f"demo-{len(sources)}-{cfg.size}px-{cfg.chunk_sec:g}s-gop{cfg.keyframe_interval}"
    return chunk_set(work, name, sources, cfg)


def pair_clips(reader: ClipReader, n: int, seed: int = 0) -> list[tuple[str, float, float]]:
    """n // 2 (anchor, negative) clips of 1 s, videos in turn; the negative within 30 s of its anchor."""
    rng = np.random.default_rng(seed)
    uids = reader.video_uids()
    clips = []
    for k in range(n // 2):
        uid = uids[k % len(uids)]
        last = max(0.0, reader.durations[uid] - CLIP_SEC - 0.05)
        anchor = rng.uniform(0, last)
        negative = float(np.clip(anchor + rng.uniform(-30, 30), 0, last))
        clips += [(uid, anchor, anchor + CLIP_SEC), (uid, negative, negative + CLIP_SEC)]
    return clips


def reading_rate(manifest: Path, size: int, budget: float) -> tuple[float, float]:
    """ClipReading.read (reader + train transform) in this process, one thread: clips per wall / CPU second."""
    from egoflow.pretrain import ClipReading

    reading = ClipReading(manifest, DataConfig(num_frames=4, image_size=size), "train")
    reading.reader.cache_size = 1  # the anchor's file stays open for its negative, no longer
    clips = pair_clips(reading.reader, 20_000)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a DataLoader worker
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < budget or count < 10:
        uid, s, e = clips[count]
        assert reading.read(uid, s, e, (0, 0, count)).shape == (4, 3, size, size)
        count += 1
    rates = count / (time.perf_counter() - start), count / (time.process_time() - cpu)
    torch.set_num_threads(threads)
    return rates


def loader_rate(manifest: Path, size: int, workers: int, budget: float, batch: int = 16) -> float:
    """A DataLoader over ClipDataset (train mode) as the loop builds it: clips/s once every worker is running."""
    reader = ClipReader(manifest, cache_size=1)
    transform = TransformConfig(size=size, resize=round(size * 256 / 224))
    clips = pair_clips(reader, 50_000)
    config = ClipDatasetConfig(num_frames=4, mode="train", transform=transform)
    dataset = ClipDataset(manifest, clips, config, reader=reader)
    loader = DataLoader(
        dataset,
        batch_size=batch,
        shuffle=False,  # keep the pairs together
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4 if workers else None,
    )
    batches = iter(loader)
    for _ in range(max(1, workers)):  # every worker's first batch: start-up left out
        next(batches)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget or count < 2 * batch:
        count += next(batches)["video"].shape[0]
    rate = count / (time.perf_counter() - start)
    del batches  # stops the workers
    return rate


def transform_cost(manifest: Path, size: int, reps: int = 20) -> float:
    """CPU seconds of the train transform (random resized crop + flip + normalise) of one 4-frame clip."""
    from egoflow.videos.transforms import video_transform

    reader = ClipReader(manifest)
    uid = reader.video_uids()[0]
    frames = reader.read(uid, 1.0, 1.0 + CLIP_SEC, 4, "test")  # [4, H, W, 3] uint8
    transform = video_transform("train", TransformConfig(size=size, resize=round(size * 256 / 224)))
    gen = torch.Generator().manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    transform(frames, gen)
    start = time.process_time()
    for _ in range(reps):
        transform(frames, gen)
    torch.set_num_threads(threads)
    return (time.process_time() - start) / reps


def loader(work: Path, workers: list[int], budget: float, videos: int, quick: bool) -> dict:
    """Rates of the real loader: (size, workers) -> DataLoader clips/s; ("read", size) -> (wall, CPU) clips/s;
    "demo" -> DataLoader clips/s at the demo's own chunk settings (config/tiny.yaml) and worker count."""
    started = time.perf_counter()
    cfg = chunk_settings()
    manifest = demo_chunks(work, videos, cfg)
    n_videos = len(ClipReader(manifest).video_uids())
    print(
        f"[loader] tiny demo world, {n_videos} videos of ~10 s (128x96 rendered, flat shapes) cut at the "
        f"workflow's settings ({cfg.size} px, {cfg.chunk_sec:g} s chunks, GOP {cfg.keyframe_interval}) in "
        f"{time.perf_counter() - started:.1f} s; random {CLIP_SEC:g} s clips, 4 frames, train mode, PyAV; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    rates = {}
    for size in (64, 224):
        rates["read", size] = wall, cpu = reading_rate(manifest, size, budget)
        ms = 1e3 * transform_cost(manifest, size)
        print(
            f"[loader] ClipReading.read, one thread, {size} px: {wall:.1f} clips/s ({cpu:.1f} per CPU second; "
            f"of each clip's {1e3 / cpu:.1f} ms CPU the train transform takes {ms:.1f} ms)"
        )
    for size in (224,) if quick else (64, 224):  # --quick: the paper's crops only
        for w in workers:
            rates[size, w] = rate = loader_rate(manifest, size, w, budget)
            print(
                f"[loader] DataLoader(ClipDataset), {size} px, {w} worker(s): {rate:.1f} clips/s = "
                f"{rate / max(w, 1):.1f} clips/s/worker"
            )
    settings = demo_settings()[0]
    size = from_dict(DataConfig, settings.get("data")).image_size
    w = from_dict(TrainConfig, settings.get("train")).num_workers
    demo = chunk_settings("tiny.yaml")
    rates["demo"] = rate = loader_rate(demo_chunks(work, videos, demo), size, w, budget)
    print(
        f"[loader] the demo's own chunks (config/tiny.yaml: {demo.size} px, {demo.chunk_sec:g} s chunks, GOP "
        f"{demo.keyframe_interval}), {size} px, {w} worker(s): {rate:.1f} clips/s"
    )
    return rates


# --- 3. data-path options ---------------------------------------------------------------------------------------
def long_video(work: Path, gop: int, seconds: int) -> Path:
    """testsrc2 at 454x256, keyframes every `gop` frames and on every 15 s, no B-frames (chunk-ready, so the
    video stage stream-copies it): 30 s encoded once, then concatenated without re-encoding."""
    segment, out = work / f"seg_gop{gop}.mp4", work / f"long_gop{gop}_{seconds}s.mp4"
    if not segment.exists():
        source = ["-f", "lavfi", "-i", "testsrc2=s=454x256:r=30:d=30"]
        codec = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-bf", "0", "-g", str(gop)]
        keys = ["-force_key_frames", "expr:gte(t,n_forced*15)"]  # where 15 s chunks are cut
        subprocess.run([*FFMPEG, *source, *codec, *keys, str(segment)], check=True)
    if not out.exists():
        listing = work / f"concat_{gop}_{seconds}.txt"
        listing.write_text(f"file '{segment.name}'\n" * (seconds // 30))
        subprocess.run(
            [*FFMPEG, "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out)], check=True
        )
    return out


def data_paths(work: Path, budget: float) -> None:
    started = time.perf_counter()
    sets = {}
    for label, gop, seconds, chunk_sec in [
        ("600 s chunks, GOP 16 (workflow)", 16, 600, 600),
        ("600 s chunks, GOP 250 (ffmpeg default)", 250, 600, 600),
        ("15 s chunks (AVION), GOP 16", 16, 120, 15),
    ]:
        video = long_video(work, gop, seconds)
        cfg = ChunkConfig(chunk_sec=chunk_sec, keyframe_interval=gop)
        # two videos, so that anchors alternate between files
        sets[label] = chunk_set(work, f"paths-g{gop}-c{chunk_sec}", {"a": video, "b": video}, cfg)
    print(
        f"[paths] 454x256 testsrc2, 2 videos per set, made in {time.perf_counter() - started:.1f} s; "
        "ClipReading.read, one thread, 224 px, pairs as above"
    )
    rates = {label: reading_rate(manifest, 224, budget) for label, manifest in sets.items()}
    base = rates["600 s chunks, GOP 16 (workflow)"][1]
    for label, (wall, cpu) in rates.items():
        print(
            f"[paths] {label:40s} {wall:6.1f} clips/s, {cpu:6.1f} per CPU second  "
            f"({cpu / base:.2f} x the workflow's)"
        )


# --- 4. the paper-size model on a GPU ---------------------------------------------------------------------------
def matmul_peak(device: torch.device, n: int = 8192, iters: int = 20) -> float:
    """bf16 matmul FLOP/s, the best of 3 rounds."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    c = torch.empty_like(a)
    best = 0.0
    for _ in range(3):
        seconds, _ = time_steps(lambda: torch.matmul(a, b, out=c), iters, 3, device)
        best = max(best, 2 * n**3 / seconds)
    return best


def gpu_model(device: torch.device, clips: int, steps: int, warmup: int, compile: bool) -> float:
    """Paper-size clip steps on random GPU-resident inputs; returns the best clips/s."""
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    peak = matmul_peak(device)
    print(f"[gpu] {torch.cuda.get_device_name(device)}: bf16 matmul 8192^3 peak {peak / 1e12:.0f} TFLOP/s")
    config = CounterfactualModelConfig.paper(text_dim=PAPER_TEXT_DIM)
    frames = 4
    flops = flops_per_clip(config.video, frames)
    torch.manual_seed(0)
    model = CounterfactualPretraining(CounterfactualModel(config), LossConfig()).to(device)
    tc = TrainConfig()
    optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr, betas=tc.betas, eps=tc.eps)
    batch = random_clips(clips, frames, config.video.img_size, PAPER_TEXT_DIM, device)  # anchors + negatives
    autocast = torch.autocast("cuda", dtype=torch.bfloat16)
    print(
        f"[gpu] ViT-B/16 space-time, {config.video.img_size} px x {frames} frames, {clips} clips per step "
        f"({clips // 2} anchors + negatives), bf16 autocast, AdamW; {flops / 1e9:.1f} GFLOP forward per clip"
    )
    variants = [("eager", model)] + ([("torch.compile", torch.compile(model))] if compile else [])
    best = 0.0
    for label, m in variants:
        torch.cuda.reset_peak_memory_stats(device)
        started = time.perf_counter()
        for _ in range(warmup):  # compiles on the first call
            bare_step(m, optimizer, batch, "clips", autocast)
        synchronize(device)
        warm_s = time.perf_counter() - started
        seconds, _ = time_steps(
            lambda m=m: bare_step(m, optimizer, batch, "clips", autocast), steps, 0, device
        )
        rate = clips / seconds
        mfu = 3 * flops * rate / peak
        best = max(best, rate)
        print(
            f"[gpu] {label:13s} {rate:7.1f} clips/s, {1e3 * seconds:.0f} ms/step, MFU {100 * mfu:.1f} %  "
            f"(goal >= 44 %); warm-up {warm_s:.1f} s, peak memory "
            f"{torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"
        )
    return best


# --- which side bounds ------------------------------------------------------------------------------------------
def bound(label: str, model_rate: float, loader_rate: float) -> None:
    side = "the loader" if loader_rate < model_rate else "the model"
    print(
        f"[bound] {label}: model {model_rate:.0f} clips/s, loader {loader_rate:.0f} clips/s "
        f"(loader / model = {loader_rate / model_rate:.2f}) -> {side} bounds training"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="seconds-scale run (checks that it works)")
    parser.add_argument(
        "--device", default="auto", help="auto | cpu | cuda | cuda:N (the GPU part; default auto)"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps (default: tiny 60, GPU 30; --quick: 10 / 10)"
    )
    parser.add_argument(
        "--workers",
        default=None,
        help="DataLoader workers to try, e.g. 1,2 (default 1,2); on a GPU machine the loader beside the model "
        "uses the largest (default: the CPU count)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of the tiny model (default 1; the demo job has 2)",
    )
    parser.add_argument("--compile", action="store_true", help="GPU: also time the torch.compile'd model")
    parser.add_argument(
        "--batch", type=int, default=32, help="GPU: clips per step, anchors + negatives (default 32)"
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="scratch folder (kept; default: a temp folder)"
    )
    args = parser.parse_args()

    use_gpu = args.device != "cpu" and torch.cuda.is_available()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"[gpu] --device {args.device}: CUDA is not available; CPU parts only")
    cpus = len(os.sched_getaffinity(0))
    workers = [int(w) for w in args.workers.split(",")] if args.workers else [1, 2]
    gpu_workers = max(workers) if args.workers else cpus  # the GPU node's loader: every core
    budget = 1.0 if args.quick else 4.0  # seconds per loader measurement
    tiny_steps = args.steps or (10 if args.quick else 60)
    gpu_steps = args.steps or (10 if args.quick else 30)
    work = args.work or Path(tempfile.mkdtemp(prefix="egoflow-bench-pretrain-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        tiny_rate = tiny_model(tiny_steps, args.threads, work)
        if shutil.which("ffmpeg") is None:
            print("[loader] ffmpeg is not on PATH: no chunked videos can be made, so no loader figures")
            return
        videos = 2 if args.quick else 6
        rates = loader(work, workers, budget, videos, args.quick)
        demo_workers = from_dict(TrainConfig, demo_settings()[0].get("train")).num_workers
        label = f"the demo: tiny model (CPU, {args.threads} thread) vs {demo_workers} loader worker"
        bound(label + " (on a shared machine they compete for cores)", tiny_rate, rates["demo"])
        _, cpu_rate = rates["read", 224]
        print(
            f"[bound] paper crops (224 px): {rates[224, workers[0]] / max(workers[0], 1):.1f} clips/s/worker here, "
            f"{cpu_rate:.1f} clips per CPU second; one H100 trains ViT-B/16 x 4 frames at ~800 clips/s (issue 9; "
            f"not measured here), which takes ~{800 / cpu_rate:.0f} such cores per GPU"
        )
        if args.quick:
            print("[paths] skipped with --quick")
        else:
            data_paths(work, budget)
        if use_gpu:
            device = torch.device(args.device if args.device.startswith("cuda") else "cuda")
            device = torch.device("cuda", 0) if device.index is None else device
            torch.cuda.set_device(device)
            gpu_loader = loader_rate(
                demo_chunks(work, videos, chunk_settings()), 224, gpu_workers, budget, batch=args.batch
            )
            print(
                f"[gpu] loader: DataLoader(ClipDataset), 224 px, {gpu_workers} workers: {gpu_loader:.1f} clips/s "
                f"= {gpu_loader / gpu_workers:.1f} clips/s/worker"
            )
            model_rate = gpu_model(device, args.batch, gpu_steps, 3 if args.quick else 5, args.compile)
            name = torch.cuda.get_device_name(device)
            bound(f"paper-size model on {name} vs {gpu_workers} loader workers", model_rate, gpu_loader)
        else:
            print("[gpu] no CUDA device here: the paper-size model is not measured (run it on a GPU machine)")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"[time] {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
