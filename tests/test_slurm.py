"""The workflow on a real single-node SLURM cluster, started on this machine (tests/slurm/start.sh).

`snakemake --profile profiles/slurm all` runs every stage that exists on the tiny world; sacct must show one
completed SLURM job per non-local job of the plan, and the outputs must equal a local run's. All of it runs
with a decoy /etc/slurm/slurm.conf of another cluster in place, as on a login node: the test cluster must
not depend on the machine's own SLURM configuration. Needs root and apt (CI); elsewhere it skips loudly.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

from egoflow.checkpoint import load_checkpoint
from tests import slurm_cluster
from tests.workflow_run import (
    ROOT,
    SNAKEMAKE,
    TINY,
    clone_run,
    copy_workflow,
    dry_run_jobs,
    job_set,
    parse_jobs,
    reference_run,
    run_tiny,
    tree_differences,
    write_overlay,
)

CLUSTER_BINARIES = ["munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd", "sbatch", "sacct"]


# One SLURM test cluster per machine (and the decoy /etc/slurm/slurm.conf): one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("slurm")


def loud_skip(reason: str):
    banner = f"\n{'!' * 78}\n!!! SLURM TEST SKIPPED: {reason}\n{'!' * 78}\n"
    print(banner, file=sys.stderr)
    pytest.skip(f"SLURM TEST SKIPPED: {reason}")


@pytest.fixture(scope="module")
def decoy() -> bool:
    """For the whole module this machine looks like a login node of another cluster.

    /etc/slurm/slurm.conf names a controller that does not exist (slurm_cluster.decoy_system_config; a config
    the machine already has stays and plays the part). Starting the cluster, the jobs' own `srun` and every
    sacct/squeue the plugin runs must ignore it. The decoy rides along with the one end-to-end run below
    instead of a second run of its own (minutes each). True when the decoy was planted.
    """
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
    with slurm_cluster.decoy_system_config() as planted:
        yield planted


@pytest.fixture(scope="module")
def cluster(decoy) -> dict:
    """Start (or reuse) the test cluster (with the decoy in place); the environment that points SLURM at it."""
    return slurm_cluster.start()


def slurm(*args: str, env: dict, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env)


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
def test_cluster_answers_sbatch_and_sacct_and_srun_inside_jobs(decoy, cluster, tmp_path):
    env = {**os.environ, **cluster}
    if decoy:
        # The decoy is what a bare client on this machine reads (else this module would prove nothing).
        bare = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
        bare["PATH"] = ":".join(d for d in bare["PATH"].split(":") if d != f"{slurm_cluster.STATE}/bin")
        ping = slurm("scontrol", "ping", env=bare, timeout=30)
        assert "decoy-controller" in ping.stdout + ping.stderr, ping
    # Inside the job, srun runs with every SLURM_* variable but the job id gone (the jobstep drops them,
    # SLURM_CONF and SLURM_WORKING_CLUSTER included) and must still reach the test cluster.
    nested = 'env -i PATH="$PATH" SLURM_JOB_ID="$SLURM_JOB_ID" srun -n1 -t 1 --mem 100 echo step-ran'
    job = slurm(
        "sbatch", "--parsable", "--wait", "-t", "1", "--mem", "100", "--chdir", str(tmp_path),
        "--output", str(tmp_path / "slurm-%j.out"), "--wrap", nested,
        env=env,
    )  # fmt: skip
    job_id = job.stdout.strip().split(";")[0]
    log = next(tmp_path.glob("slurm-*.out"), None)
    log_text = log.read_text() if log else "(no job log)"
    assert job.returncode == 0, f"{job.stderr}\njob log:\n{log_text}"
    assert log_text.split() == ["step-ran"], log_text
    states = slurm("sacct", "-X", "-n", "-P", "-j", job_id, "--format=State", env=env)
    assert states.stdout.split() == ["COMPLETED"], states


@pytest.mark.slurm
@pytest.mark.slow
def test_profile_runs_every_stage_as_slurm_jobs(cluster, tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm") / "repo")
    env = {**cluster, **slurm_cluster.NODE_ENV}
    args = [*slurm_cluster.PROFILES, "all", *slurm_cluster.node_config(workdir)]
    plan = job_set(dry_run_jobs(workdir, *args, env=env))
    assert plan, "the tiny world plans no jobs"

    proc = run_tiny(workdir, *args, env=env, timeout=1800)
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


# Which rules declare memory and runtime, and that the profile adds only GPUs, partitions and the account:
# tests/test_workflow_conventions.py. Here: every job of a full plan gets them from the environment.
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
    gpu_rules = {r for r, res in slurm_cluster.rendered_profile(env)["set-resources"].items() if "gpu" in res}
    assert gpu_rules & {j.rule for j in plan}, "no GPU stage in the plan"
    for job in plan:
        assert job.resources.get("slurm_account") == "lab-acct", job
        gpu = job.rule in gpu_rules
        assert job.resources.get("slurm_partition") == ("gpu-part" if gpu else "cpu-part"), job
        assert ("gpu" in job.resources) == gpu, job
        assert re.fullmatch(r"\d+", job.resources["runtime"]), job  # minutes, after the unit was parsed


def test_decoy_is_removed_even_on_failure_with_the_folder_it_made(tmp_path):
    conf = tmp_path / "etc/slurm/slurm.conf"
    with pytest.raises(RuntimeError), slurm_cluster.decoy_system_config(conf) as planted:
        assert planted and "SlurmctldHost=decoy-controller" in conf.read_text()
        raise RuntimeError("the SLURM test failed")
    assert not (tmp_path / "etc/slurm").exists()  # the folder did not exist before
    assert (tmp_path / "etc").exists()


def test_decoy_never_replaces_a_real_config_but_replaces_a_leftover_decoy(tmp_path):
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=real\nSlurmctldHost=login1\n")
    with slurm_cluster.decoy_system_config(conf) as planted:
        assert not planted and conf.read_text() == "ClusterName=real\nSlurmctldHost=login1\n"
    assert conf.read_text() == "ClusterName=real\nSlurmctldHost=login1\n"

    conf.write_text(slurm_cluster.DECOY)  # left by a killed run
    with slurm_cluster.decoy_system_config(conf) as planted:
        assert planted
    assert not conf.exists() and tmp_path.exists()  # the folder was there before: it stays


# Long enough that the first attempt cannot finish before SLURM's warning signal (tiny world, batch 4).
LONG_PRETRAINING = {
    "pretrain": {
        "runs": {"demo": {}},
        "defaults": {
            "data": {"batch_size": 4, "summary_batch_size": 1},
            "train": {"max_steps": 400, "checkpoint_every": 1000, "log_every": 10, "num_workers": 0},
        },
        # 3 minutes of wall time per attempt; the warning comes 100 s before the end (give or take SLURM's
        # 60 s event resolution), so each attempt trains 20-80 s, checkpoints and exits for resubmission.
        "runtime": "3m",
    },
    "evaluate": {"runs": []},
}


@pytest.mark.slurm
@pytest.mark.slow
def test_pretraining_past_its_wall_time_is_signalled_resubmitted_and_exact(cluster, tmp_path_factory):
    done = reference_run(tmp_path_factory)
    target = "results/pretrain/demo/model.pt"
    runs = {}
    for name in ("local", "slurm"):
        workdir = clone_run(done, tmp_path_factory.mktemp(name) / "repo")
        shutil.rmtree(workdir / "results/pretrain", ignore_errors=True)
        runs[name] = workdir
    overlay = write_overlay(runs["slurm"], LONG_PRETRAINING, "long.yaml")
    write_overlay(runs["local"], LONG_PRETRAINING, "long.yaml")
    env = {**os.environ, **cluster, **slurm_cluster.NODE_ENV, "PYTHONUNBUFFERED": "1"}
    # The uninterrupted local run trains meanwhile (the SLURM run mostly waits for its signal), with the same
    # 2 threads as the SLURM job: CPU float reductions depend on the thread count.
    local = subprocess.Popen(
        [SNAKEMAKE, "--profile", "profiles/local", "--cores", "2", target, *TINY, overlay],
        cwd=runs["local"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    proc = run_tiny(
        runs["slurm"], *slurm_cluster.PROFILES, target, "--retries", "8",
        "--set-resources", "pretrain_model:slurm_extra=\"'--signal=USR1@100'\"",
        *slurm_cluster.node_config(runs["slurm"]), overlay, env=env, timeout=2400,
    )  # fmt: skip
    out, _ = local.communicate(timeout=2400)
    assert local.returncode == 0, out[-4000:]
    log = proc.stdout + proc.stderr
    events = (runs["slurm"] / "results/pretrain/demo/checkpoints/events.log").read_text()
    print(events)
    assert "SIGUSR1: checkpointed at step" in events, events + log[-3000:]
    assert "resumed from step-" in events, events
    assert events.strip().splitlines()[-1].split(" ", 2)[2].startswith("finished at step 400"), events
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    states = [
        state for _, state, comment in sacct_jobs(run_id, cluster) if comment.startswith("rule_pretrain")
    ]
    assert len(states) >= 2 and states[-1] == "COMPLETED", states
    a = load_checkpoint(runs["local"] / target)["model"]
    b = load_checkpoint(runs["slurm"] / target)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a), (
        "weights after resubmissions differ from an uninterrupted run"
    )
