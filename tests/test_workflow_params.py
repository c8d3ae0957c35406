"""Params carry exactly what changes a rule's output: after a finished run, changing a run setting (wall time,
memory, batch size, device, cache path, llama.cpp buffers) plans no job, and adding a text set plans only that
set's job and the report that shows it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.workflow_run import TINY, clone_run, dry_run_jobs, job_set, reference_run, run_tiny

pytestmark = pytest.mark.slow

# (dotted config key, new value): none of them changes what a job writes.
RUN_SETTINGS = [
    ("features.text.runtime", "3h"),
    ("features.text.mem_mb", 9000),
    ("features.text.batch_size", 7),
    ("features.text.device", "cpu"),
    ("features.visual.runtime", "3h"),
    ("features.visual.batch_size", 5),
    ("features.language_prototypes.batch_size", 3),
    ("videos.runtime", "5h"),
    ("text.mem_mb", 9000),
    ("text.runtime", "1h"),
    ("text.cache", "results/text/cache/elsewhere.sqlite"),
    ("text.llama_cpp.n_batch", 64),
    ("resources.max_mem_mb", 64000),
]


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> Path:
    """A finished local run of `all` (shared, never modified: tests work on clones or dry-run in it)."""
    return reference_run(tmp_path_factory)


def overlay(folder: Path, key: str, value, name: str = "changed.yaml") -> list[str]:
    """--configfile arguments that set one dotted key on top of the tiny world (written outside the run)."""
    tree: dict = {}
    node = tree
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    path = folder / name
    path.write_text(yaml.safe_dump(tree))
    return [*TINY, str(path)]


def test_run_settings_rerun_nothing(done, tmp_path):
    assert job_set(dry_run_jobs(done, "all")) == [], "the finished run is not complete"
    rerun = {}
    for key, value in RUN_SETTINGS:
        jobs = job_set(dry_run_jobs(done, "all", *overlay(tmp_path, key, value)))
        if jobs:
            rerun[key] = sorted({rule for rule, _ in jobs})
    assert rerun == {}, f"run settings that rerun finished jobs: {rerun}"


def test_adding_a_text_set_plans_only_that_set(done, tmp_path):
    # A run made with three of the four sets: the reference, minus charades, brought up to date without it.
    workdir = clone_run(done, tmp_path / "run")
    (workdir / "results/features/text/charades.h5").unlink()
    three = overlay(tmp_path, "features.text.sets", ["clips", "summaries", "epic"], name="three.yaml")
    run_tiny(workdir, "--cores", "2", "all", *three)
    assert job_set(dry_run_jobs(workdir, "all", *three)) == []

    # Adding charades: its own job, and the report, which lists every feature store.
    four = overlay(
        tmp_path, "features.text.sets", ["clips", "summaries", "epic", "charades"], name="four.yaml"
    )
    planned = job_set(dry_run_jobs(workdir, "all", *four))
    assert planned == [
        ("report_html", ("results/report/index.html",)),
        ("text_features", ("results/features/text/charades.h5",)),
    ], planned
