"""ChangeIt's multi-task object-state model (soCzech/MultiTaskObjectStates method/model.py, digest A.3).

A per-frame backbone -> one feature per frame, and two independent MLP heads on it:
- state: 2C + 1 logits, per category c an initial (2c) and an end state (2c + 1), plus one shared background (2C);
- action: C + 1 logits, per category c its action (c), plus one shared background (C).
Probabilities are softmaxes over the whole vector, from which the video's category columns are taken.

Backbones: `clip` = the CLIP vision tower of `transformers` (ViT-L/14 from a local checkpoint for real runs; the
post-LayerNorm CLS token, no projection, as upstream strips `proj`), or a random-init CLIPVisionConfig of the
given size; `cnn` = a small convolutional net for the demo world.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class StateHeadsConfig:
    num_categories: int = 44  # C
    backbone: str = "clip"  # clip | cnn
    checkpoint: str = ""  # clip: local CLIPVisionModel folder (e.g. ViT-L/14); "" = random init from `clip`
    clip: dict = field(default_factory=dict)  # CLIPVisionConfig fields for a random-init tower
    cnn_width: int = 32  # cnn: channels of the first layer (x2, x4 after)
    cnn_pool: str = "mean"  # cnn: mean (global average) | flatten (keeps where things are, e.g. the hand)
    hidden: tuple[int, ...] = (4096,)  # hidden MLP layers of each head (upstream hidden_mlp_layers=[4096])
    image_size: int = 224  # side of the square crops fed in

    @classmethod
    def from_dict(cls, values: dict) -> StateHeadsConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"StateHeadsConfig: unknown setting(s) {', '.join(unknown)}")
        values = dict(values)
        if "hidden" in values:
            values["hidden"] = tuple(values["hidden"])
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)


class SmallCNN(nn.Module):
    """Four stride-2 convolutions, then a global average ([N, 3, S, S] -> [N, 4w]) or the flattened map
    ([N, 4w * ceil(S / 16) ** 2]), which keeps the layout: the demo's action is where the hand is."""

    def __init__(self, width: int, pool: str = "mean", image_size: int = 32):
        super().__init__()
        if pool not in ("mean", "flatten"):
            raise ValueError(f"cnn_pool must be mean or flatten, got {pool!r}")
        w, self.pool = width, pool
        self.layers = nn.Sequential(
            nn.Conv2d(3, w, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(4 * w, 4 * w, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        side = image_size
        for _ in range(4):
            side = (side + 1) // 2  # each stride-2 convolution (padding keeps ceil)
        self.width = 4 * w * (side * side if pool == "flatten" else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(x)  # [N, 4w, S / 16, S / 16]
        return x.flatten(1) if self.pool == "flatten" else x.mean(dim=(2, 3))  # [N, width]


class ClipTower(nn.Module):
    """transformers' CLIPVisionModel -> pooler_output (LayerNorm'd CLS), width hidden_size."""

    def __init__(self, checkpoint: str, values: dict, image_size: int):
        super().__init__()
        from transformers import CLIPVisionConfig, CLIPVisionModel

        if checkpoint:
            self.model = CLIPVisionModel.from_pretrained(checkpoint, local_files_only=True)
        else:
            self.model = CLIPVisionModel(CLIPVisionConfig(**{"image_size": image_size, **values}))
        if self.model.config.image_size != image_size:
            raise ValueError(
                f"the CLIP tower takes {self.model.config.image_size} px, crops are {image_size}"
            )
        self.width = self.model.config.hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=x).pooler_output  # [N, D]


def mlp(width: int, hidden: tuple[int, ...], out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, out))


class StateHeads(nn.Module):
    def __init__(self, cfg: StateHeadsConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.backbone == "clip":
            self.backbone = ClipTower(cfg.checkpoint, cfg.clip, cfg.image_size)
        elif cfg.backbone == "cnn":
            self.backbone = SmallCNN(cfg.cnn_width, cfg.cnn_pool, cfg.image_size)
        else:
            raise ValueError(f"backbone must be clip or cnn, got {cfg.backbone!r}")
        c = cfg.num_categories
        self.state_head = mlp(self.backbone.width, cfg.hidden, 2 * c + 1)
        self.action_head = mlp(self.backbone.width, cfg.hidden, c + 1)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    def head_parameters(self) -> list[nn.Parameter]:
        return [*self.state_head.parameters(), *self.action_head.parameters()]

    def backbone_parameters(self) -> list[nn.Parameter]:
        return list(self.backbone.parameters())

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 (or 0..255 float) [N, 3, S, S] -> state logits [N, 2C + 1], action logits [N, C + 1]."""
        x = (frames.float() / 255.0 - self.mean) / self.std
        feature = self.backbone(x)  # [N, D]
        return self.state_head(feature), self.action_head(feature)

    @torch.no_grad()
    def probabilities(
        self, frames: torch.Tensor, category: torch.Tensor | int, chunk: int = 256
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """p_initial, p_end, p_action [N] of one category (an int, or a long tensor [N] per frame), forwarding
        at most `chunk` frames at a time (upstream's 256)."""
        states, actions = [], []
        for begin in range(0, len(frames), chunk):
            s, a = self(frames[begin : begin + chunk])
            states.append(F.softmax(s.float(), dim=-1))
            actions.append(F.softmax(a.float(), dim=-1))
        state, action = torch.cat(states), torch.cat(actions)  # [N, 2C + 1], [N, C + 1]
        c = torch.as_tensor(category, device=frames.device).expand(len(frames))
        rows = torch.arange(len(frames), device=frames.device)
        return state[rows, 2 * c], state[rows, 2 * c + 1], action[rows, c]
