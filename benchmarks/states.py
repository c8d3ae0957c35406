"""Ordering-constraint speed: prints measured numbers (goal in the comment), asserts nothing.

    .venv/bin/python benchmarks/states.py [--frames 100000] [--gap 500]

1. `ordering_constraint` on one video of --frames frames (goal: under a second for 100,000 frames).
2. The exhaustive O(T * D^2) search on a short video for scale, and agreement of the two there.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from egoflow.states import exhaustive_ordering, ordering_constraint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--gap", type=int, default=500)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    probs = [rng.random(args.frames) for _ in range(3)]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = ordering_constraint(*probs, max_gap=args.gap)
        times.append(time.perf_counter() - start)
    print(
        f"ordering_constraint: {args.frames} frames, max_gap {args.gap}: {min(times):.3f} s (best of 3) -> {result}"
    )
    short = [p[:300] for p in probs]
    start = time.perf_counter()
    reference = exhaustive_ordering(*short, max_gap=60)
    slow = time.perf_counter() - start
    start = time.perf_counter()
    fast = ordering_constraint(*short, max_gap=60)
    quick = time.perf_counter() - start
    print(
        f"300 frames, max_gap 60: exhaustive {slow:.3f} s, running maxima {quick * 1e3:.2f} ms, same: {fast == reference}"
    )


if __name__ == "__main__":
    main()
