"""CARL (Chen et al., CVPR 2022): per-frame encoder + temporal transformer, trained with the sequence
contrastive loss (egoflow.losses.sequence_contrastive_loss) on two temporally augmented views of a video.

Frame encoder: ResNet-50 from `transformers` for real runs (stem..stage 3 frozen, the last stage trained, as
upstream's `LAYER: 3`), or a small CNN for the demo. Then max-pool → 2 × [Dropout, Linear, BN, ReLU] → Linear to
d_model → sinusoidal positions (interpolated when a sequence's length differs from the training length) →
pre-LN transformer → Linear to the embedding. The projection head (training only) is Linear-BN-ReLU-Linear + L2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from egoflow.losses import sequence_contrastive_loss


@dataclass
class CarlConfig:
    backbone: str = "cnn"  # cnn (demo) | resnet50 (transformers ResNetModel; weights from `backbone_path`)
    backbone_path: str = ""  # a local transformers ResNet folder (config.json + weights); "" = random weights
    cnn_channels: int = 32  # small CNN width (demo)
    hidden: int = 512  # frame-head MLP width
    d_model: int = 256
    heads: int = 8
    d_ff: int = 1024
    layers: int = 2  # 2 Pouring, 3 PennAction / FineGym
    embedding: int = 128
    projection: int = 128
    dropout: float = 0.1
    num_frames: int = 80  # frames per view in training: positions are interpolated to this length
    variance: float = 10.0  # Gaussian prior variance, in original frames²
    temperature: float = 0.1


class SmallCNN(nn.Module):
    """Four stride-2 conv blocks: [N, 3, H, W] -> [N, 4c, H/16, W/16]."""

    def __init__(self, c: int):
        super().__init__()
        chans = [3, c, 2 * c, 4 * c, 4 * c]
        self.out_dim = chans[-1]
        self.net = nn.Sequential(
            *[
                layer
                for i in range(4)
                for layer in (
                    nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1),
                    nn.BatchNorm2d(chans[i + 1]),
                    nn.ReLU(),
                )
            ]
        )

    def forward(self, x):
        return self.net(x)


class ResNetTrunk(nn.Module):
    """transformers ResNet-50 with every stage but the last frozen (run in eval mode, no gradients)."""

    def __init__(self, path: str):
        super().__init__()
        from transformers import ResNetConfig, ResNetModel

        self.resnet = ResNetModel.from_pretrained(path) if path else ResNetModel(ResNetConfig())
        self.out_dim = self.resnet.config.hidden_sizes[-1]
        for p in self.resnet.parameters():
            p.requires_grad = False
        for p in self.resnet.encoder.stages[-1].parameters():
            p.requires_grad = True

    def forward(self, x):
        frozen = nn.Sequential(self.resnet.embedder, *self.resnet.encoder.stages[:-1])
        frozen.eval()
        with torch.no_grad():
            h = frozen(x)
        return self.resnet.encoder.stages[-1](h)


def sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """[B, T] float positions -> [B, T, dim] sin/cos encodings."""
    freq = torch.exp(torch.arange(0, dim, 2, device=positions.device) * (-math.log(10000.0) / dim))
    angle = positions[..., None] * freq
    return torch.cat([angle.sin(), angle.cos()], dim=-1)


class Carl(nn.Module):
    def __init__(self, config: CarlConfig):
        super().__init__()
        self.config = c = config
        self.backbone = SmallCNN(c.cnn_channels) if c.backbone == "cnn" else ResNetTrunk(c.backbone_path)
        if c.backbone not in ("cnn", "resnet50"):
            raise ValueError(f"carl: backbone {c.backbone!r} is not cnn or resnet50")
        dims = [self.backbone.out_dim, c.hidden, c.hidden]
        self.frame_head = nn.Sequential(
            *[
                m
                for i in range(2)
                for m in (
                    nn.Dropout(c.dropout),
                    nn.Linear(dims[i], dims[i + 1]),
                    nn.BatchNorm1d(dims[i + 1]),
                    nn.ReLU(),
                )
            ],
            nn.Linear(c.hidden, c.d_model),
        )
        self.drop = nn.Dropout(c.dropout)
        layer = nn.TransformerEncoderLayer(
            c.d_model, c.heads, c.d_ff, c.dropout, batch_first=True, norm_first=True, activation="relu"
        )
        self.transformer = nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.d_model)
        self.embed = nn.Linear(c.d_model, c.embedding)
        self.projection = nn.Sequential(
            nn.Linear(c.embedding, c.projection),
            nn.BatchNorm1d(c.projection),
            nn.ReLU(),
            nn.Linear(c.projection, c.projection),
        )

    def encode(self, frames: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """frames [B, T, 3, H, W] (normalised), mask [B, T] bool valid -> embeddings [B, T, E]."""
        b, t = frames.shape[:2]
        h = self.backbone(frames.flatten(0, 1))  # [B*T, C, h, w]
        h = h.amax(dim=(2, 3))  # global max-pool, as upstream
        h = self.frame_head(h).view(b, t, -1)  # [B, T, d_model]
        # A sequence longer or shorter than training gets its positions squeezed into the training range.
        scale = (self.config.num_frames - 1) / max(t - 1, 1) if t != self.config.num_frames else 1.0
        pos = torch.arange(t, device=frames.device, dtype=torch.float32)[None].expand(b, t) * scale
        h = self.drop(h + sinusoid(pos, self.config.d_model).to(h.dtype))
        pad = None if mask is None else ~mask
        h = self.norm(self.transformer(h, src_key_padding_mask=pad))
        return self.embed(h)  # [B, T, E]

    def project(self, e: torch.Tensor) -> torch.Tensor:
        b, t, _ = e.shape
        return F.normalize(self.projection(e.flatten(0, 1)).view(b, t, -1), dim=-1)

    def forward(self, batch: dict, objective: str = "scl") -> dict[str, torch.Tensor]:
        """batch: frames [B, 2, T, 3, H, W], steps [B, 2, T] long, mask [B, 2, T] bool -> {"scl": loss}."""
        frames, steps, mask = batch["frames"], batch["steps"], batch["mask"].bool()
        b = frames.shape[0]
        z = self.project(self.encode(frames.flatten(0, 1), mask.flatten(0, 1)))  # [2B, T, P]
        z = z.view(b, 2, *z.shape[1:])
        loss = sequence_contrastive_loss(
            z[:, 0],
            z[:, 1],
            steps[:, 0],
            steps[:, 1],
            mask[:, 0],
            mask[:, 1],
            variance=self.config.variance,
            temperature=self.config.temperature,
        )
        return {"scl": loss}
