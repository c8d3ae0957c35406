"""Text stage through Snakemake in a scratch copy: template backend end to end, upstream output layouts,
a rerun does nothing, and a changed prompt / model / sampling setting reruns only the text-stage jobs."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from egoflow.text.schema import CLIP_FIELDS, SUMMARY_FIELDS
from tests.text_fixtures import NARRATIONS, SUMMARIES, write_inputs
from tests.workflow_run import ROOT, TINY, copy_workflow, planned_jobs, snakemake, write_overlay

TEXT_JOBS = {"clip_states", "summary_cf", "merge_text", "text"}


@pytest.mark.slow
def test_text_stage_runs_and_reruns_only_what_changed(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    shutil.copytree(ROOT / "envs", work / "envs", dirs_exist_ok=True)  # rules name their conda envs
    inputs = write_inputs(work / "fixtures")
    overlay = {
        "annotations": {k: str(v.relative_to(work)) for k, v in inputs.items()},
        "text": {"shards": 2, "max_failure_rate": 0.0},
    }
    config = [*TINY, write_overlay(work, overlay)]
    snakemake(work, "text", *config)

    states = json.loads((work / "results/text/states.json").read_text())
    assert set(states) == set(NARRATIONS)
    assert all(list(fields) == list(CLIP_FIELDS) for fields in states.values())
    summary_cf = json.loads((work / "results/text/summary_cf.json").read_text())
    assert set(summary_cf) == set(SUMMARIES)
    assert all(list(v["order"]) == list(SUMMARY_FIELDS) == list(v["key"]) for v in summary_cf.values())
    log = (work / "logs/text/clip_states/0.log").read_text()
    assert "item/s" in log and "items:" in log  # progress bar and summary in the rule log
    assert "Nothing to be done" in snakemake(work, "text", *config).stderr

    # Editing a prompt reruns the shards of that request type and the merge, not the item sets.
    time.sleep(1)
    prompt = work / "config/prompts/clip_states.user.txt"
    prompt.write_text(prompt.read_text() + "\nKeep each answer short.\n")
    jobs = planned_jobs(snakemake(work, "text", "-n", *config))
    assert jobs == {"clip_states": 2, "merge_text": 1, "text": 1}, jobs

    # A GGUF model (backend auto -> llama_cpp) reruns every shard; so does a new sampling setting.
    from tests.tiny_gguf import write_tiny_llama

    model = write_tiny_llama(work / "resources/tiny-llama.gguf")
    overlay["text"].update(
        clip_chars=16, summary_chars=16, llama_cpp={"model": str(model.relative_to(work)), "n_ctx": 2048}
    )
    config = [*TINY, write_overlay(work, overlay)]
    jobs = planned_jobs(snakemake(work, "text", "-n", *config))
    assert set(jobs) == TEXT_JOBS and jobs["summary_cf"] == 4, jobs
    pytest.importorskip("llama_cpp", reason="LOUD SKIP: llama-cpp-python is not installed")
    snakemake(work, "text", *config)
    assert "'backend': 'llama_cpp'" in (work / "logs/text/clip_states/1.log").read_text()
    assert set(json.loads((work / "results/text/states.json").read_text())) == set(NARRATIONS)
    overlay["text"]["llama_cpp"]["temperature"] = 0.8
    config = [*TINY, write_overlay(work, overlay)]
    jobs = planned_jobs(snakemake(work, "text", "-n", *config))
    assert set(jobs) == TEXT_JOBS, jobs

    # Answers cut off by a tiny token limit: every item fails, the rule fails and says why.
    overlay["text"].update(max_tokens=6, max_attempts=1)
    config = [*TINY, write_overlay(work, overlay)]
    failed = snakemake(work, "results/text/clip/0.jsonl", *config, check=False)
    assert failed.returncode != 0
    log = (work / "logs/text/clip_states/0.log").read_text()
    assert "GenerationFailed" in log and "above text.max_failure_rate = 0.0%" in log, log[-2000:]
    assert "FAILED" in log and "answer cut off at max_tokens=6" in log
