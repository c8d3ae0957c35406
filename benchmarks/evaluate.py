"""EPIC-100 MIR metrics at the real retrieval size (prints numbers; exits 1 when slower than the budget).

The 9,668 test clips (EPIC_100_validation.csv == EPIC_100_retrieval_test.csv rows) x the 3,842 unique captions of
EPIC_100_retrieval_test_sentence.csv, relevancy computed with the JPoSE rule (1/2 [same verb class] + 1/2 IoU of the
noun-class sets, each caption taking the classes of its representative clip), a random similarity matrix; times
the relevancy, mAP and nDCG in both directions (V->T and T->V). Budget: 10 s in all, wall or CPU seconds (the
CPU seconds when other jobs share the machine).

Usage: .venv/bin/python benchmarks/evaluate.py [--data DIR] [--budget 10]
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from egoflow.metrics import jpose_relevancy, mir_map, mir_ndcg

DATA = Path(__file__).resolve().parents[1] / "../shared/data/epic-kitchens-100"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the EPIC-100 CSVs")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds allowed for relevancy + metrics")
    args = parser.parse_args(argv)

    clips = pd.read_csv(args.data / "EPIC_100_validation.csv")
    sentences = pd.read_csv(args.data / "EPIC_100_retrieval_test_sentence.csv")
    nouns = [ast.literal_eval(v) for v in clips["all_noun_classes"]]
    row = {nid: i for i, nid in enumerate(clips["narration_id"])}
    captions = [row[nid] for nid in sentences["narration_id"]]
    verbs = clips["verb_class"].to_numpy()

    start, cpu = time.perf_counter(), time.process_time()
    rel = jpose_relevancy(verbs, nouns, verbs[captions], [nouns[i] for i in captions])  # [9668, 3842]
    t_rel = time.perf_counter() - start
    sim = np.random.default_rng(0).standard_normal(rel.shape).astype(np.float32)
    times, values = {}, {}
    for name, fn, s, r in (
        ("mAP V->T", mir_map, sim, rel),
        ("mAP T->V", mir_map, sim.T, rel.T),
        ("nDCG V->T", mir_ndcg, sim, rel),
        ("nDCG T->V", mir_ndcg, sim.T, rel.T),
    ):
        t = time.perf_counter()
        values[name] = fn(s, r)
        times[name] = time.perf_counter() - t
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"size: {rel.shape[0]:,} videos x {rel.shape[1]:,} sentences; relevancy {t_rel:.2f} s")
    for name in times:
        print(f"{name:10s} {100 * values[name]:6.2f} (random sim)  {times[name]:.2f} s")
    # A shared machine stretches wall time; the CPU seconds are the work itself (one thread, no parallelism).
    ok = min(total, cpu) < args.budget
    print(
        f"total {total:.2f} s wall, {cpu:.2f} s CPU (budget {args.budget:.0f} s): {'ok' if ok else 'TOO SLOW'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
