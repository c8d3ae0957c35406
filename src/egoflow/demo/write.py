"""`write_world`: render every planned video and write the sheet and every annotation file of the demo world."""

from __future__ import annotations

import multiprocessing
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from egoflow.demo.annotations import write_annotations
from egoflow.demo.render import encode_video
from egoflow.demo.world import VideoPlan, WorldPlan, plan_world
from egoflow.sheet import write_sheet


def _encode(job: tuple[VideoPlan, str]) -> str:
    video, path = job
    encode_video(video, path)
    return video.uid


def write_world(out_dir: str | Path, *, size: str, seed: int, threads: int = 1) -> WorldPlan:
    """Write `out_dir/{sheet.tsv, videos/<uid>.mp4, annotations/...}`; each file appears atomically.

    Videos are rendered `threads` at a time (each rendering process also feeds its own single-threaded ffmpeg).
    """
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is not on PATH; the demo world encodes its videos with it")
    out_dir = Path(out_dir)
    plan = plan_world(size, seed)
    write_annotations(plan, out_dir)
    jobs = [(video, str(out_dir / video.video_file)) for video in plan.videos]
    if threads <= 1:
        with tqdm(total=len(jobs), desc=f"demo world ({size})", unit="video", file=sys.stderr) as progress:
            for job in jobs:
                _encode(job)
                progress.update()
    else:
        # Rendering is numpy on small arrays (GIL-bound), so parallelism needs processes. Fork, not spawn:
        # a spawned child re-runs the caller's __main__, which for a Snakemake script needs `snakemake`.
        # The pool starts before tqdm so no monitor thread exists at fork time.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(max_workers=threads, mp_context=multiprocessing.get_context(method)) as pool:
            results = pool.map(_encode, jobs)
            with tqdm(
                total=len(jobs), desc=f"demo world ({size})", unit="video", file=sys.stderr
            ) as progress:
                for _ in results:
                    progress.update()
    write_sheet(plan.sheet_table().to_dict("records"), out_dir / "sheet.tsv")
    return plan
