"""Named targets plan exactly their stage; a single file as the target plans only what it needs."""

import re
from pathlib import Path

import pytest

from tests.workflow_run import ROOT, TINY, copy_workflow, planned_jobs, snakemake

TARGET_RULES = {"all", "demo", "annotations", "videos", "text", "features", "pretrain", "evaluate", "report"}
TARGET_RULES |= {"framewise", "anticipation", "states", "metrics"}


def rules_defined() -> set[str]:
    names = set()
    for path in [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]:
        names |= set(re.findall(r"^rule (\w+):", path.read_text(), flags=re.M))
    return names


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("targets"))


def dry_run(workdir, target: str) -> dict[str, int]:
    return planned_jobs(snakemake(workdir, "-n", target, *TINY))


def test_all_plans_every_rule_of_every_stage(workdir):
    jobs = dry_run(workdir, "all")
    missing = rules_defined() - TARGET_RULES - set(jobs)
    assert not missing, f"`all` does not reach {sorted(missing)}"


def test_named_targets_exist():
    assert rules_defined() >= TARGET_RULES


def test_videos_plans_only_the_video_stage(workdir):
    jobs = dry_run(workdir, "videos")
    assert set(jobs) == {"demo_world", "probe_video", "resize_chunk", "video_manifest", "videos"}
    assert (
        jobs["probe_video"] == jobs["resize_chunk"] == 6
    )  # one job per video of the tiny world, never per chunk


def test_one_output_file_plans_only_what_it_needs(workdir):
    jobs = dry_run(workdir, "results/videos/probe/P01_01.json")
    assert jobs == {"demo_world": 1, "probe_video": 1}


def test_text_plans_no_video_or_feature_job(workdir):
    jobs = dry_run(workdir, "text")
    assert not {"probe_video", "resize_chunk", "text_features", "merge_visual_features"} & set(jobs)
    assert {"narration_set", "clip_states", "merge_text"} <= set(jobs)


def test_unknown_video_in_a_target_is_named(workdir):
    result = snakemake(workdir, "-n", "results/videos/probe/P99_99.json", *TINY, check=False)
    assert result.returncode != 0
    assert "video_uid 'P99_99' is not in the sheet" in result.stdout + result.stderr
