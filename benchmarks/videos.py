"""Video-stage performance goals, measured on this machine (prints ratios; never part of the tests).

1. resize+chunk throughput of the workflow's job (egoflow.videos.transcode.write_chunks: probe, one ffmpeg pass,
   chunk checks) / the same ffmpeg command run bare, same file, same threads. Goal >= 0.95.
2. random 4-frame clip reads per second on ONE core (cold: every clip opens its file, as when each training
   sample comes from another video), decord vs PyAV (vs torchcodec 0.13 when importable), for keyframe intervals
   16 / 64 / 250 and for 600 s (EgoVLP) vs 15 s (AVION) chunks at 256p. Goal >= 40 clips/s/core with the defaults.
3. wall time of `snakemake -n videos` for a synthetic sheet of 10,000 videos: with nothing built (20,002 jobs
   planned), and with the per-video outputs and the manifest supplied (nothing to do). Goal <= 60 s.

Usage: .venv/bin/python benchmarks/videos.py [--quick] [--work DIR] [--only throughput,clips,dag]
torchcodec: `pip install --no-deps --target DIR torchcodec==0.13.0` and run with PYTHONPATH=DIR.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from egoflow.videos.manifest import write_manifest
from egoflow.videos.probe import probe_video, write_probe
from egoflow.videos.reader import ClipReader
from egoflow.videos.transcode import ChunkConfig, ffmpeg_args, write_chunks

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmark videos are the tests' synthetic videos

from tests.videos_synth import make_video  # noqa: E402


def synth(path: Path, seconds: int, size: str, gop: int | None = None, bframes: bool = True) -> Path:
    """The tests' testsrc2 video (tests/videos_synth.py), made once per scratch folder."""
    if not path.exists():
        make_video(
            path,
            seconds=seconds,
            size=size,
            gop=gop,
            extra=["-preset", "veryfast"] + ([] if bframes else ["-bf", "0"]),
        )
    return path


# --- 1. throughput -------------------------------------------------------------------------------------------
def throughput(work: Path, seconds: int, threads: int) -> None:
    src = synth(work / "src_720p.mp4", seconds, "1280x720")
    probe = probe_video(src)
    cfg = ChunkConfig(chunk_sec=30)  # 2 chunks a minute: 20x the default's chunks per second of video
    raw_times, job_times = [], []
    for attempt in range(2):
        out = work / f"raw{attempt}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        args = [a for a in ffmpeg_args(src, out, probe, cfg, threads) if a not in ("-progress", "pipe:1")]
        start = time.perf_counter()
        subprocess.run(args, check=True)
        raw_times.append(time.perf_counter() - start)
        probe_json = work / "probe.json"
        start = time.perf_counter()
        write_probe(src, "src", probe_json)
        write_chunks(src, probe_json, work / f"job{attempt}", cfg, threads=threads)
        job_times.append(time.perf_counter() - start)
        shutil.rmtree(work / f"job{attempt}")
    raw, job = min(raw_times), min(job_times)
    print(
        f"[throughput] {seconds} s of 1280x720 -> 256p, {threads} threads: raw ffmpeg {raw:.2f} s, "
        f"workflow job (probe + ffmpeg + chunk checks) {job:.2f} s"
    )
    print(f"[throughput] workflow / raw ffmpeg throughput = {raw / job:.3f}   (goal >= 0.95)")


# --- 2. clip reads -------------------------------------------------------------------------------------------
def chunked(work: Path, name: str, src: Path, chunk_sec: float, gop: int) -> tuple[Path, Path]:
    """(probe json, chunk folder) of `src` cut by the workflow's own job (a stream copy when already chunk-ready)."""
    probe_json, out = work / f"{name}.probe.json", work / f"{name}.chunks"
    if not (out / "chunks.json").exists():
        write_probe(src, name, probe_json)
        write_chunks(src, probe_json, out, ChunkConfig(chunk_sec=chunk_sec, keyframe_interval=gop), threads=2)
    return probe_json, out


def bench_reader(reader: ClipReader, uids: list[str], budget: float) -> float:
    """Random 1 s clips, 4 frames (train mode), cycling through `uids` so that each clip opens its file."""
    rng = np.random.default_rng(0)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget or count < 5:
        uid = uids[count % len(uids)]
        t = rng.uniform(0, reader.durations[uid] - 1.1)
        assert reader.read(uid, t, t + 1.0, 4, "train", rng).shape[0] == 4
        count += 1
    return count / (time.perf_counter() - start)


def bench_torchcodec(reader: ClipReader, uids: list[str], budget: float) -> float:
    """The same clips decoded by torchcodec 0.13 (file opened per clip)."""
    from torchcodec.decoders import VideoDecoder

    rng = np.random.default_rng(0)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget or count < 5:
        uid = uids[count % len(uids)]
        t = rng.uniform(0, reader.durations[uid] - 1.1)
        entry = [e for e in reader.chunks[uid] if e.start_sec <= t][-1]
        local = t - entry.start_sec + np.sort(rng.uniform(0, 1.0, 4))
        decoder = VideoDecoder(entry.path, seek_mode="approximate", num_ffmpeg_threads=1)
        end = decoder.metadata.duration_seconds - 1e-3
        assert decoder.get_frames_played_at(np.minimum(local, end).tolist()).data.shape[0] == 4
        count += 1
    return count / (time.perf_counter() - start)


def clip_reads(work: Path, seconds: int, budget: float) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    torch_threads = None
    try:
        import torch

        torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        import torchcodec  # noqa: F401

        has_torchcodec = True
    except Exception as error:  # not installed, or a CUDA build
        print(f"[clips] torchcodec skipped: {type(error).__name__}: {error}")
        has_torchcodec = False
    sets: dict[str, list[tuple[Path, Path]]] = {}
    for gop in (16, 64, 250):
        video = synth(work / f"long_gop{gop}.mp4", seconds, "454x256", gop=gop, bframes=False)
        copy = work / f"long_gop{gop}_copy.mp4"  # a second video: alternating reads open a file every clip
        if not copy.exists():
            shutil.copy(video, copy)
        label = f"{seconds} s chunks, GOP {gop}" + (" (ffmpeg default)" if gop == 250 else "")
        sets[label] = [chunked(work, f"g{gop}_{i}", p, 600, gop) for i, p in enumerate((video, copy))]
    sets["15 s chunks (AVION), GOP 16"] = [chunked(work, "short16", work / "long_gop16.mp4", 15, 16)]
    print("[clips] random 1 s clips, 4 frames, 454x256, ONE core; cold = the file is opened for each clip")
    for label, parts in sets.items():
        manifest = work / "bench_manifest.tsv"
        write_manifest([p for p, _ in parts], [c for _, c in parts], manifest, work / "bench_rejected.tsv")
        uids = ClipReader(manifest).video_uids()
        cells = []
        for backend in ("decord", "pyav"):
            cold = bench_reader(ClipReader(manifest, backend=backend, cache_size=1), uids, budget)
            warm = bench_reader(ClipReader(manifest, backend=backend, cache_size=64), uids[:1], budget)
            cells.append(f"{backend} {cold:5.1f} cold {warm:5.1f} warm")
        if has_torchcodec:
            cells.append(f"torchcodec {bench_torchcodec(ClipReader(manifest), uids, budget):5.1f} cold")
        print(f"[clips] {label:34s} " + " | ".join(cells) + "  clips/s/core")
    print("[clips] goal: >= 40 clips/s/core with the defaults (600 s chunks, GOP 16)")
    if torch_threads:
        torch.set_num_threads(torch_threads)


# --- 3. DAG at Ego4D scale -----------------------------------------------------------------------------------
def dag(work: Path, n: int) -> None:
    wf = work / "wf"
    shutil.rmtree(wf, ignore_errors=True)
    wf.mkdir()
    for name in ("Snakefile",):
        shutil.copy(ROOT / name, wf / name)
    for folder in ("workflow", "config", "envs"):
        shutil.copytree(ROOT / folder, wf / folder)
    (wf / "src").symlink_to(ROOT / "src")
    vids = wf / "vids"
    vids.mkdir()
    uids = [f"{i:08x}-ego4d-{i:05d}" for i in range(n)]
    for uid in uids:
        (vids / f"{uid}.mp4").touch()
    (wf / "sheet.tsv").write_text("video_uid\tpath\n" + "".join(f"{u}\tvids/{u}.mp4\n" for u in uids))
    (wf / "overlay.yaml").write_text("videos:\n  sheet: sheet.tsv\n")
    command = [str(Path(sys.executable).with_name("snakemake")), "-n", "videos", "--configfile",
               "config/config.yaml", "config/tiny.yaml", "overlay.yaml", "--quiet", "rules"]  # fmt: skip

    def run() -> float:
        start = time.perf_counter()
        result = subprocess.run(command, cwd=wf, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        return time.perf_counter() - start

    fresh = run()
    # Supply every per-video output and the manifest (as after a full run): the dry run must find nothing to do.
    time.sleep(1)
    rows = ["\t".join(["row_type", "video_uid", "path", "start_sec", "duration_sec"])]
    for uid in uids:
        (wf / "results/videos/probe").mkdir(parents=True, exist_ok=True)
        (wf / f"results/videos/probe/{uid}.json").write_text("{}")
        (wf / f"results/videos/chunks/{uid}").mkdir(parents=True)
        rows += [f"video\t{uid}\tvids/{uid}.mp4\t0\t600", f"chunk\t{uid}\tchunks/{uid}/0.mp4\t0\t600"]
    (wf / "results/videos/manifest.tsv").write_text("\n".join(rows) + "\n")
    (wf / "results/videos/rejected.tsv").write_text("video_uid\tpath\tstage\treason\n")
    supplied = run()
    print(
        f"[dag] snakemake -n videos, {n} videos: nothing built {fresh:.1f} s ({2 * n + 2} jobs), "
        f"outputs + manifest supplied {supplied:.1f} s   (goal <= 60 s)"
    )
    from snakemake.utils import validate

    from egoflow.sheet import read_sheet

    start = time.perf_counter()
    table = read_sheet(wf / "sheet.tsv")
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    # as common.smk does: one validator for the whole table
    validate(table, schema=str(ROOT / "workflow/schemas/sheet.schema.yaml"), set_default=False)
    validate_s = time.perf_counter() - start
    print(f"[dag] of which: read_sheet {read_s:.2f} s, sheet validation {validate_s:.2f} s for {n} rows")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter videos and budgets (about 2 minutes)")
    parser.add_argument(
        "--work", type=Path, default=None, help="scratch folder (kept; default: a temp folder)"
    )
    parser.add_argument("--only", default="throughput,clips,dag", help="comma-separated sections to run")
    parser.add_argument("--threads", type=int, default=2, help="ffmpeg threads for the throughput section")
    parser.add_argument("--videos", type=int, default=10_000, help="sheet size of the DAG section")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="egoflow-bench-videos-"))
    work.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(","))
    if "throughput" in only:
        throughput(work, 20 if args.quick else 60, args.threads)
    if "dag" in only:
        dag(work, args.videos)
    if "clips" in only:  # last: it pins this process to one core
        clip_reads(work, 120 if args.quick else 600, 3.0 if args.quick else 8.0)
    if args.work is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
