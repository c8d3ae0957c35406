"""A released checkpoint (upstream layout) is evaluated without training.

A pretraining run that only points at the file (`init.checkpoint`, `source: cf`, zero steps) plans one
pretrain_model job (it converts the file to our layout) and that run's evaluation jobs, nothing else. The file
written here holds the tiny reference run's demo weights the way upstream's trainer saves them (DDP `module.`
names under `state_dict`, plus `arch` / `epoch`), so the released run's results must equal the demo run's.
"""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from tests.workflow_run import TINY, clone_run, planned_jobs, reference_run, run_tiny, write_overlay

pytestmark = pytest.mark.slow

TASKS = ("epic_mir", "charades_ego")


def test_released_checkpoint_is_evaluated_without_training(tmp_path_factory, tmp_path):
    workdir = clone_run(reference_run(tmp_path_factory), tmp_path / "run")
    trained = torch.load(workdir / "results/pretrain/demo/model.pt", map_location="cpu", weights_only=True)
    upstream = {"module." + k.removeprefix("model."): v for k, v in trained["model"].items()}
    torch.save(
        {"arch": "CF", "epoch": 7, "state_dict": upstream, "monitor_best": 0}, tmp_path / "cf_release.pth"
    )

    config = yaml.safe_load((workdir / "config/config.yaml").read_text())
    released = {
        "init": {"checkpoint": str(tmp_path / "cf_release.pth"), "source": "cf"},
        "train": {"max_steps": 0},
    }
    overlay = write_overlay(
        workdir,
        {
            "pretrain": {"runs": {**config["pretrain"]["runs"], "released-cf": released}},
            "evaluate": {"runs": [*config["evaluate"]["runs"], "released-cf"]},
        },
    )
    targets = [f"results/evaluate/released-cf/{task}.json" for task in TASKS]
    args = ["--configfile", *TINY[1:], overlay]
    assert planned_jobs(run_tiny(workdir, "-n", *targets, *args)) == {
        "pretrain_model": 1,
        "evaluate_retrieval": len(TASKS),
    }
    run_tiny(workdir, *targets, *args)

    converted = torch.load(
        workdir / "results/pretrain/released-cf/model.pt", map_location="cpu", weights_only=True
    )
    assert converted["step"] == 0  # no training step: the weights are the file's
    for key, value in trained["model"].items():
        assert torch.equal(converted["model"][key], value), key
    for task in TASKS:
        ours = json.loads((workdir / f"results/evaluate/demo/{task}.json").read_text())
        theirs = json.loads((workdir / f"results/evaluate/released-cf/{task}.json").read_text())
        assert theirs["run"] == "released-cf" and theirs["checkpoint"].endswith("released-cf/model.pt")
        print(task, "released", theirs["metrics"], "demo", ours["metrics"])
        assert theirs["metrics"] == pytest.approx(ours["metrics"], abs=1e-6), task
