"""The workflow on a real single-node SLURM cluster, started on this machine (tests/slurm/start.sh).

`snakemake --profile profiles/slurm all` runs every stage that exists on the tiny world; sacct must show one
completed SLURM job per non-local job of the plan, and the outputs must equal a local run's.
Needs root and apt (CI); elsewhere it skips with a loud reason.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.workflow_run import ROOT
from tests.workflow_run import (
    copy_workflow,
    dry_run_jobs,
    job_set,
    parse_jobs,
    reference_run,
    run_tiny,
    tree_differences,
)

CLUSTER_BINARIES = ["munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd", "sbatch", "sacct"]
STATE = os.environ.get("EGOFLOW_SLURM_DIR", "/var/tmp/egoflow-slurm")
PROFILES = ["--profile", "profiles/slurm", "--profile", str(ROOT / "tests/slurm/profile")]
# The test node has 2 CPUs, ~19 GB and no GPU: GPU rules ask for CPUs, memory per job is capped.
CLUSTER_ENV = {"EGOFLOW_SLURM_CPU_ONLY": "1", "EGOFLOW_SLURM_MAX_MEM_MB": "3000"}


def loud_skip(reason: str):
    banner = f"\n{'!' * 78}\n!!! SLURM TEST SKIPPED: {reason}\n{'!' * 78}\n"
    print(banner, file=sys.stderr)
    pytest.skip(f"SLURM TEST SKIPPED: {reason}")


@pytest.fixture(scope="module")
def cluster() -> dict:
    """Start (or reuse) the test cluster; returns the environment that points SLURM tools at it."""
    if os.geteuid() != 0:
        loud_skip("needs root to start munge/MariaDB/slurmdbd/slurmctld/slurmd (CI runs as root)")
    missing = [b for b in CLUSTER_BINARIES if shutil.which(b) is None]
    if missing:
        if shutil.which("apt-get") is None:
            loud_skip(f"{', '.join(missing)} not installed and no apt-get to install them")
        setup = subprocess.run(["bash", str(ROOT / ".ci/slurm-setup.sh")], capture_output=True, text=True)
        assert setup.returncode == 0, (
            f".ci/slurm-setup.sh failed:\n{setup.stdout[-3000:]}{setup.stderr[-3000:]}"
        )
    start = subprocess.run(
        ["bash", str(ROOT / "tests/slurm/start.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "EGOFLOW_SLURM_DIR": STATE},
    )
    assert start.returncode == 0, f"tests/slurm/start.sh failed:\n{start.stderr[-4000:]}"
    return {"SLURM_CONF": f"{STATE}/etc/slurm.conf", "EGOFLOW_SLURM_DIR": STATE}


def sacct_jobs(run_id: str, env: dict) -> list[tuple[str, str, str]]:
    """(job id, state, comment) of every job of one snakemake run (the plugin names them by run id)."""
    out = subprocess.run(
        ["sacct", "-X", "--parsable2", "--noheader", "--name", run_id, "--starttime", "now-1days"]
        + ["--format=JobIDRaw,State,Comment%400"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout
    return [tuple(line.split("|", 2)) for line in out.splitlines() if line.strip()]


@pytest.mark.slurm
def test_cluster_answers_sbatch_and_sacct(cluster):
    env = {**os.environ, **cluster}
    job = subprocess.run(
        ["sbatch", "--parsable", "--wait", "-t", "1", "--mem", "100", "--wrap", "true"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert job.returncode == 0, job.stderr
    job_id = job.stdout.strip().split(";")[0]
    states = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-j", job_id, "--format=State"], capture_output=True, text=True, env=env
    )
    assert states.stdout.split() == ["COMPLETED"], states


@pytest.mark.slurm
@pytest.mark.slow
def test_profile_runs_every_stage_as_slurm_jobs(cluster, tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm") / "repo")
    env = {**cluster, **CLUSTER_ENV}
    plan = job_set(dry_run_jobs(workdir, *PROFILES, "all", env=env))
    assert plan, "the tiny world plans no jobs"

    proc = run_tiny(workdir, *PROFILES, "all", env=env, timeout=1800)
    log = proc.stdout + proc.stderr
    run_id = re.search(r"SLURM run ID: (\S+)", log)
    assert run_id, f"no SLURM run ID in the snakemake log:\n{log[-3000:]}"
    ran = [j for j in parse_jobs(log) if j.outputs]
    assert job_set(ran) == plan, "the run did not do what the dry-run planned"
    remote = collections.Counter(j.rule for j in ran if not j.local)
    assert remote, "no job was sent to SLURM"

    # Every job not declared local ran as a SLURM job of this run (the plugin puts the rule in the
    # job comment), and completed.
    rules = sorted(remote, key=len, reverse=True)  # longest first: rule_a_b must not be read as rule a
    in_sacct = collections.Counter()
    for job_id, state, comment in sacct_jobs(run_id.group(1), cluster):
        assert state == "COMPLETED", f"SLURM job {job_id} ({comment}) is {state}"
        rule = next(
            (r for r in rules if comment == f"rule_{r}" or comment.startswith(f"rule_{r}_wildcards_")), None
        )
        assert rule, f"SLURM job {job_id} has an unexpected comment {comment!r}"
        in_sacct[rule] += 1
    assert in_sacct == remote, f"sacct shows {dict(in_sacct)}, snakemake submitted {dict(remote)}"

    # Same outputs as an uninterrupted local run.
    assert tree_differences(reference_run(tmp_path_factory), workdir) == []


def profile_resources(env: dict) -> dict:
    """profiles/slurm/config.yaml as snakemake reads it (YTE-rendered) under the given environment."""
    import yte

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        with open(ROOT / "profiles/slurm/config.yaml") as handle:
            return yte.process_yaml(handle, require_use_yte=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_profile_covers_every_rule_with_growing_memory_and_runtime_units(tmp_path):
    profile = profile_resources({"EGOFLOW_SLURM_MAX_MEM_MB": ""})
    per_rule = profile["set-resources"]
    workdir = copy_workflow(tmp_path / "repo")
    rules = {j.rule for j in dry_run_jobs(workdir, "--forceall", "all") if j.outputs}
    assert sorted(rules - per_rule.keys()) == [], "rules without resources in profiles/slurm set-resources"
    for rule, resources in per_rule.items():
        assert re.fullmatch(r"\d+[smhd]", resources["runtime"]), f"{rule}: runtime needs a unit"
        memory = [eval(resources["mem_mb"], {"min": min}, {"attempt": a}) for a in (1, 2, 3)]
        assert memory[0] < memory[1] < memory[2], f"{rule}: mem_mb must grow with attempt: {memory}"
    capped = profile_resources({"EGOFLOW_SLURM_MAX_MEM_MB": "5000"})["set-resources"]["demo_world"]["mem_mb"]
    assert eval(capped, {"min": min}, {"attempt": 3}) == 5000


def test_profile_takes_partition_account_and_gpus_from_the_environment(tmp_path):
    workdir = copy_workflow(tmp_path / "repo")
    env = {
        "EGOFLOW_SLURM_PARTITION": "cpu-part",
        "EGOFLOW_SLURM_GPU_PARTITION": "gpu-part",
        "EGOFLOW_SLURM_ACCOUNT": "lab-acct",
        "EGOFLOW_SLURM_CPU_ONLY": "",
    }
    plan = [
        j
        for j in dry_run_jobs(workdir, "--profile", "profiles/slurm", "--forceall", "all", env=env)
        if j.outputs
    ]
    gpu_rules = {r for r, res in profile_resources(env)["set-resources"].items() if "gpu" in res}
    assert gpu_rules & {j.rule for j in plan}, "no GPU stage in the plan"
    for job in plan:
        assert job.resources.get("slurm_account") == "lab-acct", job
        gpu = job.rule in gpu_rules
        assert job.resources.get("slurm_partition") == ("gpu-part" if gpu else "cpu-part"), job
        assert ("gpu" in job.resources) == gpu, job
        assert re.fullmatch(r"\d+", job.resources["runtime"]), job  # minutes, after the unit was parsed
