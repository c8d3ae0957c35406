"""Cluster-stage performance goals, measured on this machine (prints ratios; never part of the tests).

1. wall time of the tiny world through `--profile profiles/slurm` on the single-node test cluster
   (tests/slurm/start.sh, test overlay with 2 s status checks) / the same through `--profile profiles/local`.
   Goal <= 3: SLURM's per-job cost (sbatch, a jobstep snakemake that re-parses the workflow, status polling)
   must stay small next to the work. Also prints the SLURM cost per job in seconds.
2. wall time of the report job alone (forcerun report_html on a finished run) / the whole local run.
   Goal <= 0.1.

Usage (root, packages of .ci/slurm-setup.sh): .venv/bin/python benchmarks/cluster.py [--work DIR] [--no-slurm]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers run snakemake exactly as the tests do

from tests import slurm_cluster  # noqa: E402
from tests.workflow_run import copy_workflow, parse_jobs, run_tiny  # noqa: E402


def timed(workdir: Path, *args: str, env: dict | None = None) -> tuple[float, int]:
    start = time.monotonic()
    proc = run_tiny(workdir, *args, env=env, timeout=3600)
    jobs = [j for j in parse_jobs(proc.stdout + proc.stderr) if j.outputs]
    return time.monotonic() - start, len(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--no-slurm", action="store_true", help="only the local run and the report")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="egoflow-cluster-bench-"))

    local_dir = copy_workflow(work / "local")
    local_s, jobs = timed(local_dir, "--profile", "profiles/local", "--cores", "2", "all")
    print(f"local run: {local_s:.1f} s for {jobs} jobs")

    report_s, _ = timed(
        local_dir, "--profile", "profiles/local", "--cores", "2", "--forcerun", "report_html", "report"
    )
    print(f"report job alone: {report_s:.1f} s; report / whole run = {report_s / local_s:.3f} (goal <= 0.1)")

    if args.no_slurm:
        return
    env = {**slurm_cluster.start(), **slurm_cluster.NODE_ENV}
    slurm_dir = copy_workflow(work / "slurm")
    slurm_s, slurm_jobs = timed(
        slurm_dir, *slurm_cluster.PROFILES, "all", *slurm_cluster.node_config(slurm_dir), env=env
    )
    print(f"SLURM run: {slurm_s:.1f} s for {slurm_jobs} jobs")
    print(f"SLURM / local wall = {slurm_s / local_s:.2f} (goal <= 3)")
    print(f"SLURM cost per job = {(slurm_s - local_s) / max(slurm_jobs, 1):.1f} s")


if __name__ == "__main__":
    main()
