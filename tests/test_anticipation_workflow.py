"""The anticipation stage inside the shared tiny `all` run: every run's result row, the challenge files."""

from __future__ import annotations

import json

import numpy as np
import yaml

from egoflow.anticipation.evaluation import validate_lta_outputs
from tests.workflow_run import reference_run


def test_anticipation_outputs_of_the_reference_run(tmp_path_factory):
    workdir = reference_run(tmp_path_factory)
    config = yaml.safe_load((workdir / "config/config.yaml").read_text())["anticipation"]
    results = workdir / "results/anticipation"
    for run in config["sgear"]["runs"]:
        row = json.loads((results / f"sgear/{run}/validation.json").read_text())
        assert (row["system"], row["run"], row["task"], row["split"]) == (
            "sgear",
            run,
            "action_anticipation",
            "validation",
        )
        assert {"overall/action/mt5r", "overall/verb/mt5r", "overall/noun/top5"} <= set(row["metrics"])
        assert row["config_hash"] and (results / f"sgear/{run}/log.csv").is_file()
        scores = np.load(results / f"sgear/{run}/scores.npz")
        assert scores["scores_action"].shape[0] == row["n"]["overall/verb"]
        challenge = json.loads((results / f"sgear/{run}/challenge.json").read_text())
        assert set(challenge["results"]) == set(scores["narration_id"].tolist())
    fused = json.loads((results / "fusion/validation.json").read_text())
    assert fused["fused"] == {
        "runs": config["sgear"]["fusion"]["runs"],
        "weights": config["sgear"]["fusion"]["weights"],
    }
    lta = config["lta"]["defaults"]
    row = json.loads((results / "lta/demo/validation.json").read_text())
    # the reference run is the tiny world: its overlay predicts fewer than the default Z = 20
    tiny = yaml.safe_load((workdir / "config/tiny.yaml").read_text())["anticipation"]["lta"]["defaults"]
    z = {**lta["window"], **tiny.get("window", {})}["num_future"]
    assert z == 5 and row["n"]["windows"] == 4  # tiny val clip: 10 actions - 5 - 2 + 1
    assert {f"verb/ED@{z}", f"noun/ED@{z}", f"action/ED@{z}"} <= set(row["metrics"])
    outputs = json.loads((results / "lta/demo/outputs.json").read_text())
    assert outputs, "no test windows"
    validate_lta_outputs(outputs, k=lta["num_sequences"], z=z)
