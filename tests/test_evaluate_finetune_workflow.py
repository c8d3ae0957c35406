"""Charades-Ego fine-tuning as a workflow job: the shared tiny reference run fine-tunes the demo run on the demo
world's Charades-Ego training split (CharadesEgo_v1_train_only1st.csv) through the one loop, scores it with the
zero-shot protocol and adds the row to the results table; an interrupted fine-tuning resumes to the same weights.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
import yaml

from egoflow.evaluate import FinetuneConfig, finetune_charades
from egoflow.features.text_encoder import TextEncoderConfig
from egoflow.train import PREEMPTED_EXIT_CODE, TrainConfig
from tests.workflow_run import reference_run

pytestmark = pytest.mark.slow

TUNED = "results/evaluate/demo/finetuned_charades/model.pt"


def merged(base: dict, overlay: dict) -> dict:
    return {
        k: merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
        for k, v in {**base, **overlay}.items()
    }


def settings(workdir) -> dict:
    """The config the tiny run used (config.yaml + tiny.yaml)."""
    base = yaml.safe_load((workdir / "config/config.yaml").read_text())
    return merged(base, yaml.safe_load((workdir / "config/tiny.yaml").read_text()))


def test_reference_run_finetunes_and_scores_charades(tmp_path_factory):
    workdir = reference_run(tmp_path_factory)
    section = settings(workdir)["evaluate"]
    row = json.loads((workdir / "results/evaluate/demo/finetuned_charades_ego.json").read_text())
    zero_shot = json.loads((workdir / "results/evaluate/demo/charades_ego.json").read_text())
    assert (row["system"], row["run"], row["task"], row["split"]) == (
        "counterfactual", "demo-finetuned", "charades_ego", "test"
    )  # fmt: skip
    assert row["checkpoint"] == TUNED and math.isfinite(row["metrics"]["map"])
    assert row["n"] == zero_shot["n"]  # the same test videos and classes as the zero-shot row

    tuned = torch.load(workdir / TUNED, map_location="cpu", weights_only=False)
    pretrained = torch.load(
        workdir / "results/pretrain/demo/model.pt", map_location="cpu", weights_only=False
    )
    assert tuned["step"] == section["finetune"]["charades"]["max_steps"]  # tiny: 2 steps
    assert tuned["config"]["finetune"]["task"] == "charades_ego"
    assert tuned["config"]["finetune"]["from"] == "results/pretrain/demo/model.pt"
    assert row["config_hash"] == tuned["config"]["config_hash"] != pretrained["config"]["config_hash"]
    assert set(tuned["model"]) == set(pretrained["model"])  # loads like a pretraining run (load_trained)
    assert any(not torch.equal(tuned["model"][k], v) for k, v in pretrained["model"].items())

    log = (workdir / "results/evaluate/demo/finetuned_charades/log.csv").read_text().splitlines()
    assert log[0].startswith("step,epoch") and "charades/bce" in log[0] and len(log) == 1 + 2  # log_every 1
    table = (workdir / "results/metrics/summary.tsv").read_text()
    assert "counterfactual\tdemo-finetuned\tcharades_ego\ttest\tmap\t" in table


def test_interrupted_charades_finetuning_resumes_to_the_rules_weights(
    tmp_path_factory, tmp_path, monkeypatch
):
    # The rule's job, repeated in-process with the same settings: stopped after step 1 (as if preempted: a
    # checkpoint, exit 75), then started again, it must end at the rule's weights bit for bit.
    workdir = reference_run(tmp_path_factory)
    config = settings(workdir)
    section, text, notes = config["evaluate"], config["features"]["text"], config["annotations"]
    monkeypatch.chdir(
        workdir
    )  # the manifest's chunk paths are relative to the workdir; writes go to tmp_path
    world = f"{config['demo']['out']}/{config['demo']['size']}"  # what {demo} stands for
    ft, charades = section["finetune"], section["finetune"]["charades"]
    cfg = TrainConfig(
        max_steps=charades["max_steps"],
        lr=charades["lr"],
        seed=ft["seed"],
        checkpoint_every=ft["checkpoint_every"],
        log_every=ft["log_every"],
        device="cpu",
    )

    def run(train_cfg):
        return finetune_charades(
            "results/pretrain/demo/model.pt",
            notes["charades_train"].replace("{demo}", world),
            notes["charades_classes"].replace("{demo}", world),
            "results/videos/manifest.tsv",
            TextEncoderConfig(model=text["model"], max_length=text["max_length"], device="cpu"),
            tmp_path / "run",
            tmp_path / "model.pt",
            run="demo-finetuned",
            finetune=FinetuneConfig(frames=ft["frames"], batch_size=charades["batch_size"]),
            train_cfg=train_cfg,
            temperature=charades["temperature"],
            threads=2,  # the rule's threads
        )

    with pytest.raises(SystemExit) as stopped:
        run(TrainConfig(**{**cfg.__dict__, "stop_after": 1}))
    assert stopped.value.code == PREEMPTED_EXIT_CODE and not (tmp_path / "model.pt").exists()
    run(cfg)
    ours = torch.load(tmp_path / "model.pt", map_location="cpu", weights_only=False)
    rules = torch.load(workdir / TUNED, map_location="cpu", weights_only=False)
    assert ours["step"] == rules["step"] == charades["max_steps"]
    for key, value in rules["model"].items():
        assert torch.equal(ours["model"][key], value), key
