"""Incremental reruns and faults, on the tiny world, for every stage that exists.

(a) changing one stage's parameter reruns only that stage and what depends on it;
(b) changing nothing reruns nothing;
(c) SIGKILL of snakemake mid-run, then a rerun, gives the outputs of an uninterrupted run;
(d) with --keep-going a failing job does not stop independent branches;
(e) requesting one output file runs only what that file needs.
All runs happen in temporary copies of the repository; the complete reference run is shared.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.workflow_run import (
    TINY,
    Job,
    copy_workflow,
    dry_run_jobs,
    job_set,
    output_files,
    parse_jobs,
    reference_run,
    run_tiny,
    tree_differences,
)

pytestmark = pytest.mark.slow

LOCAL = ["--profile", "profiles/local", "--cores", "2"]
# (dotted config key, new value, the rule whose params carry it). Every entry whose rule exists is tested,
# so a later stage only has to add a line here.
PARAMETER_CHANGES = [
    ("features.visual_prototypes.per_class", 7, "visual_prototypes"),
    ("text.summary_narrations", 20, "summary_set"),
    ("videos.chunks.crf", 30, "resize_chunk"),
    ("demo.seed", 1, "demo_world"),
]


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> Path:
    """A finished local run of `all` (shared, never modified: tests work on clones)."""
    return reference_run(tmp_path_factory)


def overlay(folder: Path, key: str, value) -> list[str]:
    """--configfile arguments that set one dotted key on top of the tiny world."""
    tree: dict = {}
    node = tree
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    path = folder / "changed.yaml"
    path.write_text(yaml.safe_dump(tree))
    return [*TINY, str(path)]


def test_a_parameter_change_reruns_its_stage_and_dependents(done, tmp_path):
    # Dry-runs only, in the finished run itself: a copy elsewhere would differ in its absolute paths.
    workdir = done
    rules = set(run_tiny(workdir, "--list-rules").stdout.split())
    changes = [c for c in PARAMETER_CHANGES if c[2] in rules]
    assert changes, f"none of the rules in PARAMETER_CHANGES exist: {sorted(rules)}"
    everything = job_set(dry_run_jobs(workdir, "--forceall", "all"))
    for key, value, rule in changes:
        changed = job_set(dry_run_jobs(workdir, "all", *overlay(tmp_path, key, value)))
        # Forcing the rule that reads the key reruns exactly that rule and everything downstream of it.
        expected = job_set(dry_run_jobs(workdir, "--forcerun", rule, "all"))
        if rule == "demo_world":  # the seed also changes which files the world has: compare jobs per rule
            changed, expected = rule_counts(changed), rule_counts(expected)
        assert changed == expected, f"changing {key}: {describe_difference(changed, expected)}"
        assert rule in {r for r, _ in changed}
        if rule != "demo_world":  # the world feeds every stage; anything later must leave some jobs alone
            assert len(changed) < len(everything), f"changing {key} reruns everything"


def rule_counts(jobs: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, int]]:
    return sorted(collections.Counter(r for r, _ in jobs).items())


def describe_difference(changed: list, expected: list) -> str:
    extra = [j for j in changed if j not in expected]
    missing = [j for j in expected if j not in changed]
    return f"planned but not expected: {extra[:5]}; expected but not planned: {missing[:5]}"


def test_b_nothing_changed_reruns_nothing(done):
    workdir = done  # a real run that must change nothing, so the shared run stays as it was
    assert dry_run_jobs(workdir, "all") == []
    before = {rel: p.stat().st_mtime_ns for rel, p in output_files(workdir).items()}
    proc = run_tiny(workdir, *LOCAL, "all")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    after = {rel: p.stat().st_mtime_ns for rel, p in output_files(workdir).items()}
    assert after == before


def test_c_sigkill_mid_run_then_rerun_equals_uninterrupted(done, tmp_path):
    workdir = copy_workflow(tmp_path / "run")
    log = workdir / "killed.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "snakemake", *LOCAL, "all", *TINY],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill takes the running jobs with it
        )
    incomplete = workdir / ".snakemake" / "incomplete"
    try:
        deadline = time.monotonic() + 600
        # Kill once some jobs have finished and others are half-way (their outputs marked incomplete).
        while time.monotonic() < deadline and proc.poll() is None:
            finished = log.read_text().count("Finished jobid")
            if finished >= 3 and incomplete.is_dir() and any(incomplete.iterdir()):
                break
            time.sleep(0.2)
        assert proc.poll() is None, f"the run ended before it could be killed:\n{log.read_text()[-3000:]}"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # The lock of the killed run is stale; --unlock removes it, rerun-incomplete (profile) redoes the rest.
    run_tiny(workdir, "--unlock")
    rerun = run_tiny(workdir, *LOCAL, "all")
    redone = [j for j in parse_jobs(rerun.stdout + rerun.stderr) if j.outputs]
    everything = [j for j in dry_run_jobs(workdir, "--forceall", "all") if j.outputs]
    assert 0 < len(redone) < len(everything), "the rerun should redo only what the kill left unfinished"
    assert tree_differences(done, workdir) == []


KEEP_GOING_SNAKEFILE = """\
include: "Snakefile"


# A job that always fails, beside every other branch (it only needs the video sheet).
rule fail_on_purpose:
    input:
        config["videos"]["sheet"],
    output:
        "results/fail_on_purpose.txt",
    log:
        "logs/fail_on_purpose.log",
    priority: 100
    shell:
        "exit 3"
"""


def test_d_keep_going_finishes_independent_branches(done, tmp_path):
    workdir = copy_workflow(tmp_path / "run")
    (workdir / "keep_going.smk").write_text(KEEP_GOING_SNAKEFILE)
    targets = ["-s", "keep_going.smk", "all", "results/fail_on_purpose.txt"]

    stopped = run_tiny(workdir, *LOCAL, "--keep-going", *targets, check=False)
    assert stopped.returncode != 0
    assert "Error in rule fail_on_purpose" in stopped.stdout + stopped.stderr, (
        stopped.stdout + stopped.stderr
    )[-3000:]
    assert not (workdir / "results/fail_on_purpose.txt").exists()
    assert tree_differences(done, workdir) == [], "--keep-going must finish every branch but the failed one"


def test_d_without_keep_going_the_failure_stops_the_run(tmp_path):
    # The contrast that makes (d) meaningful: the same failure without --keep-going leaves branches undone.
    workdir = copy_workflow(tmp_path / "run")
    (workdir / "keep_going.smk").write_text(KEEP_GOING_SNAKEFILE)
    proc = run_tiny(
        workdir,
        *LOCAL,
        "--cores",
        "1",
        "-s",
        "keep_going.smk",
        "all",
        "results/fail_on_purpose.txt",
        check=False,
    )
    assert proc.returncode != 0
    assert "Error in rule fail_on_purpose" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    left = dry_run_jobs(workdir, "all")
    assert left, "a failing job without --keep-going should leave jobs undone"


def ancestors(jobs: list[Job], index: int) -> set[int]:
    """Indices of the job and of every job it needs, from the plan's input/output lists."""
    producer = {out: i for i, job in enumerate(jobs) for out in job.outputs}
    todo, seen = [index], set()
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        todo += [producer[f] for f in jobs[i].inputs if f in producer]
    return seen


def test_e_one_target_file_runs_only_what_it_needs(tmp_path):
    workdir = copy_workflow(tmp_path / "run")
    plan = [j for j in dry_run_jobs(workdir, "all") if j.outputs]
    # The smallest non-trivial piece: a job with at least one dependency, but not needing everything.
    closures = [(len(ancestors(plan, i)), i) for i in range(len(plan))]
    candidates = sorted(c for c in closures if 2 <= c[0] < len(plan))
    assert candidates, "the plan has no job that needs some but not all other jobs"
    _, target_job = candidates[0]
    needed = ancestors(plan, target_job)
    target = plan[target_job].outputs[0]

    proc = run_tiny(workdir, *LOCAL, target)
    ran = [j for j in parse_jobs(proc.stdout + proc.stderr) if j.outputs]
    assert collections.Counter(j.rule for j in ran) == collections.Counter(plan[i].rule for i in needed)
    assert (workdir / target).exists()
    for i, job in enumerate(plan):
        if i not in needed:
            assert not any((workdir / f).exists() for f in job.outputs), (
                f"{job.rule} ran but {target} does not need it"
            )
