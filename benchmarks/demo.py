"""Demo-world performance goals, printed as measured / budget ratios (< 1 means within budget).

    .venv/bin/python benchmarks/demo.py [--sizes tiny small] [--threads 2]

Goals (issue 2 §4): plan_world < 0.2 s even for medium (it runs on every snakemake parse);
write_world tiny < 10 s and small < 120 s on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from egoflow.demo import plan_world, write_world

PLAN_BUDGET_S = 0.2
WRITE_BUDGET_S = {"tiny": 10.0, "small": 120.0, "medium": 1800.0}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small"], choices=list(WRITE_BUDGET_S))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    # Warm up: imports (pandas, the writers) are paid once per process, by common.smk anyway.
    plan_world("tiny", 0).annotation_files()
    plan_world("tiny", 0).sheet_table()
    for size in ("tiny", "small", "medium"):
        start = time.perf_counter()
        plan = plan_world(size, 0)
        plan.video_files(), plan.annotation_files(), plan.sheet_table()
        took = time.perf_counter() - start
        print(
            f"plan_world({size}): {took:.3f} s, ratio to {PLAN_BUDGET_S} s budget: {took / PLAN_BUDGET_S:.2f}"
        )

    for size in args.sizes:
        plan = plan_world(size, 0)
        frames = sum(v.n_frames for v in plan.videos)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            write_world(out, size=size, seed=0, threads=args.threads)
            took = time.perf_counter() - start
        budget = WRITE_BUDGET_S[size]
        print(
            f"write_world({size}, threads={args.threads}): {took:.1f} s for {len(plan.videos)} videos, "
            f"{frames / took:.0f} frames/s, ratio to {budget:.0f} s budget: {took / budget:.2f}"
        )


if __name__ == "__main__":
    main()
