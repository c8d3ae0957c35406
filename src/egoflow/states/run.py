"""Multi-task object-state training (digest A.4-A.5) through the one training loop, `egoflow.train.train`.

Every step: the current model scores every frame of each video (no gradients), the ordering constraint picks
(s1, a, s2), and 15 frames around them are forwarded with gradients against their pseudo-labels; the losses are
summed over frames and videos, each video weighted by its noise-adaptive weight, the action term x0.2 (the
objective's weights). Heads SGD + backbone AdamW come from `configure_optimizers`, which the loop asks for.

`python -m egoflow.states.run SPEC.json` trains (what the train_states rule launches); the spec holds the
resolved `states` settings and the input / output paths.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from egoflow.annotations.changeit import read_changeit
from egoflow.models.state_heads import StateHeads, StateHeadsConfig
from egoflow.pretrain import config_hash, from_dict, output_settings
from egoflow.states.constraint import DEFAULT_MAX_GAP, ordering_constraint
from egoflow.states.data import ChangeItVideos, FrameConfig, VideoFrames, collate_videos
from egoflow.states.targets import pseudo_targets, video_weights
from egoflow.train import Objective, TrainConfig, publish_run, train

OBJECTIVE = "states"


@dataclass
class MethodConfig:
    max_gap: int = DEFAULT_MAX_GAP  # frames between s1 and a, and a and s2
    frames_per_gt: int = 3  # frames per chosen index (the index and its neighbours)
    kappa: int = 60  # distance of the far action-background frames
    action_weight: float = 0.2
    video_weights: bool = True  # false = every video weight 1 (upstream --ignore_video_weight)
    temperature: float = 0.001
    batch_size: int = 2  # videos per process and step
    train_backbone: bool = True


@dataclass
class OptimConfig:
    """Upstream: heads SGD lr 1e-4, momentum 0.9, wd 1e-3; backbone AdamW lr 1e-5, wd 0; cosine + warm-up."""

    heads: str = "sgd"  # sgd | adamw
    heads_lr: float = 1e-4
    heads_momentum: float = 0.9
    heads_weight_decay: float = 1e-3
    backbone_lr: float = 1e-5
    backbone_weight_decay: float = 0.0


class MultiTaskStates(torch.nn.Module):
    """The model plus the method: forward(batch, objective) -> {"state": loss, "action": loss}."""

    def __init__(self, model: StateHeads, method: MethodConfig, optim: OptimConfig | None = None):
        super().__init__()
        self.model, self.method, self.optim = model, method, optim or OptimConfig()
        if not method.train_backbone:
            for p in model.backbone_parameters():
                p.requires_grad_(False)

    def configure_optimizers(self, cfg: TrainConfig) -> list[torch.optim.Optimizer]:
        """Heads: SGD (or AdamW); backbone: AdamW (only when trained); the loop schedules both alike."""
        o = self.optim
        heads = [p for p in self.model.head_parameters() if p.requires_grad]
        if o.heads == "sgd":
            first = torch.optim.SGD(
                heads, lr=o.heads_lr, momentum=o.heads_momentum, weight_decay=o.heads_weight_decay
            )
        else:
            first = torch.optim.AdamW(heads, lr=o.heads_lr, weight_decay=o.heads_weight_decay, eps=cfg.eps)
        optimizers = [first]
        backbone = [p for p in self.model.backbone_parameters() if p.requires_grad]
        if backbone:
            optimizers.append(
                torch.optim.AdamW(
                    backbone, lr=o.backbone_lr, weight_decay=o.backbone_weight_decay, eps=cfg.eps
                )
            )
        return optimizers

    @torch.no_grad()
    def choose(self, frames: torch.Tensor, category: int) -> tuple[int, int, int]:
        """(s1, a, s2) of one video [T, 3, S, S] under the current model."""
        p1, p2, pa = (p.double().cpu().numpy() for p in self.model.probabilities(frames, category))
        s1, a, s2, _ = ordering_constraint(p1, pa, p2, self.method.max_gap)
        return s1, a, s2

    def forward(self, batch: dict, objective: str = OBJECTIVE) -> dict[str, torch.Tensor]:
        if objective != OBJECTIVE:
            raise ValueError(f"unknown objective {objective!r}")
        m, c = self.method, self.model.cfg.num_categories
        picked, state_t, mask, action_t, weight = [], [], [], [], []
        for k in range(len(batch["frames"])):
            length, category = int(batch["length"][k]), int(batch["category"][k])
            frames = batch["frames"][k, :length]  # [T, 3, S, S]
            targets = pseudo_targets(
                *self.choose(frames, category),
                length,
                category,
                c,
                frames_per_gt=m.frames_per_gt,
                kappa=m.kappa,
            )
            picked.append(frames[torch.from_numpy(targets["frames"]).to(frames.device)])
            state_t.append(torch.from_numpy(targets["state"]))
            action_t.append(torch.from_numpy(targets["action"]))
            mask.append(torch.from_numpy(targets["state_mask"]))
            weight.append(batch["weight"][k].expand(len(targets["frames"])))
        device = batch["frames"].device
        state_t, action_t, mask = (torch.cat(t).to(device) for t in (state_t, action_t, mask))
        weight = torch.cat(weight).float()
        state, action = self.model(torch.cat(picked))  # [B * 15, 2C + 1], [B * 15, C + 1]
        state_loss = F.cross_entropy(state.float(), state_t, reduction="none") * mask * weight
        action_loss = F.cross_entropy(action.float(), action_t, reduction="none") * weight
        return {"state": state_loss.sum(), "action": action_loss.sum()}


# --- entry point ------------------------------------------------------------------------------------------


@dataclass
class StatesSpec:
    settings: dict  # the `states` section: model, frames, method, optim, train
    inputs: dict  # manifest, changeit
    run_dir: str
    model_out: str
    config_out: str
    log_out: str
    extras: dict = field(default_factory=dict)


def training_rows(changeit, durations: dict[str, float], method: MethodConfig) -> tuple[list, list[str]]:
    """(category index, video_id, weight) of every unannotated listed video that was chunked and has >= 3 s."""
    names = list(changeit.categories["DIR_NAME"])
    table = video_weights(changeit, method.temperature, method.video_weights)
    keep = ~table["annotated"] & table["video_id"].isin(
        [uid for uid, d in durations.items() if np.ceil(d - 1e-9) >= 3]
    )
    rows = [(names.index(r.category), r.video_id, float(r.weight)) for r in table[keep].itertuples()]
    return rows, names


def build_model(settings: dict, num_categories: int) -> StateHeads:
    return StateHeads(
        StateHeadsConfig.from_dict({**settings.get("model", {}), "num_categories": num_categories})
    )


def run_states(spec: StatesSpec) -> Path:
    s = spec.settings
    method, optim = from_dict(MethodConfig, s.get("method")), from_dict(OptimConfig, s.get("optim"))
    frame_cfg = from_dict(FrameConfig, s.get("frames"))
    train_cfg = from_dict(TrainConfig, s.get("train"))
    if spec.extras.get("threads"):
        torch.set_num_threads(int(spec.extras["threads"]))
    changeit = read_changeit(spec.inputs["changeit"])
    frames = VideoFrames(spec.inputs["manifest"], frame_cfg)
    rows, names = training_rows(changeit, frames.durations(), method)
    if not rows:
        raise ValueError(f"no unannotated ChangeIt video of {spec.inputs['changeit']} is in the manifest")
    print(f"{len(rows)} training videos, {sum(w > 0.5 for *_, w in rows)} above their category's threshold",
          file=sys.stderr)  # fmt: skip
    torch.manual_seed(train_cfg.seed)
    model = build_model(s, len(names))
    dataset = ChangeItVideos(frames, rows, "train", train_cfg.seed)
    objective = Objective(
        OBJECTIVE,
        dataset,
        method.batch_size,
        weights={"action": method.action_weight},
        collate=collate_videos,
    )
    run_config = {
        "categories": names,
        "model": model.cfg.to_dict(),
        "frames": frame_cfg.__dict__,
        "settings": s,
        "config_hash": config_hash(output_settings(s)),
    }
    live = Path(spec.run_dir) / "checkpoints"
    train(MultiTaskStates(model, method, optim), [objective], train_cfg, spec.run_dir, spec.model_out,
          run_config=run_config, log_path=live / "log.csv")  # fmt: skip
    publish_run(spec.run_dir, spec.model_out, spec.config_out, spec.log_out, run_config)
    return Path(spec.model_out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m egoflow.states.run",
        description="Train the multi-task object-state model from its spec (written by the train_states rule).",
    )
    parser.add_argument("spec", help="JSON file: settings, inputs, run_dir, model_out, config_out, log_out")
    args = parser.parse_args(argv)
    spec = StatesSpec(**json.loads(Path(args.spec).read_text(encoding="utf-8")))
    run_states(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
