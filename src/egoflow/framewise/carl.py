"""Train CARL through the one training loop: `python -m egoflow.framewise.carl SPEC.json`.

SPEC: {"frames": <train split NPZ of egoflow.framewise.frames>, "settings": {"model": CarlConfig fields,
"views": ViewConfig fields, "train": TrainConfig fields, "batch_size": int}, "run_dir", "model_out", "threads"
(optional: CPU threads per process)}. The framewise_carl rule starts it through `egoflow.train.launch_spec`.
The final file holds the weights and the settings, so `load_carl` rebuilds the model from it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from egoflow.checkpoint import load_checkpoint
from egoflow.framewise.frames import FrameArchive
from egoflow.framewise.views import CarlDataset, ViewConfig
from egoflow.models.carl import Carl, CarlConfig
from egoflow.pretrain import config_hash, from_dict
from egoflow.train import Objective, TrainConfig, train


def build_carl(settings: dict) -> Carl:
    model = dict(settings.get("model") or {})
    model.setdefault("num_frames", (settings.get("views") or {}).get("num_frames", CarlConfig.num_frames))
    return Carl(from_dict(CarlConfig, model))


def run_carl(spec: dict) -> Path:
    settings = spec["settings"]
    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))  # the job's share of the cores, not all of them
    archive = FrameArchive(spec["frames"])
    views = from_dict(ViewConfig, settings.get("views"))
    cfg = from_dict(TrainConfig, settings.get("train"))
    dataset = CarlDataset(
        archive.frames, [len(archive.labels(k)) for k in range(len(archive))], views, cfg.seed
    )
    objective = Objective("scl", dataset, int(settings.get("batch_size", 1)))
    run_config = {"settings": settings, "config_hash": config_hash(settings), "system": "carl"}
    torch.manual_seed(cfg.seed)  # the initial weights are part of the run: the same seed, the same start
    model = build_carl(settings)
    return train(model, [objective], cfg, spec["run_dir"], spec["model_out"], run_config=run_config)


def load_carl(path: str | Path, device: torch.device | str = "cpu") -> Carl:
    """A CARL run's final weights -> the model in eval mode."""
    state = load_checkpoint(path)
    settings = (state.get("config") or {}).get("settings") or {}
    model = build_carl(settings)
    model.load_state_dict({k.removeprefix("model."): v for k, v in state["model"].items()})
    return model.to(device).eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m egoflow.framewise.carl", description=__doc__)
    parser.add_argument("spec", help="JSON spec (see the module docstring)")
    args = parser.parse_args(argv)
    run_carl(json.loads(Path(args.spec).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
