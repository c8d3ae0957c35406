"""Ego4D long-term action anticipation: the official encoder-decoder baseline over clip features
(EGO4D/forecasting lta_models.py; object-states-lta-carl.md B.3).

    clip features [B, N, Din] (one vector per observed action, e.g. the LMDB window mean)
    -> aggregator: concat (Linear(N*Din -> D)) | mean (Linear(Din -> D) of the mean) |
       transformer (Linear(Din -> D), sinusoidal positions, TransformerEncoder, LayerNorm, last step)   [B, D]
    -> MultiHeadDecoder: Z independent Linear(D -> V + Nn) heads with dropout                      [B, Z, V + Nn]
    -> split into verb logits [B, Z, V] and noun logits [B, Z, Nn]
Generation: K samples from Categorical(logits) per position (K = 1: argmax), as upstream's `generate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn

AGGREGATORS = ("concat", "mean", "transformer")


@dataclass
class LtaConfig:
    input_dim: int = 2048  # SlowFast clip feature
    num_input: int = 2  # N observed actions
    num_future: int = 20  # Z
    num_verbs: int = 115
    num_nouns: int = 478
    aggregator: str = "transformer"
    dim: int = 2048  # aggregated width
    layers: int = 6  # transformer aggregator
    heads: int = 8
    dropout: float = 0.5  # before each decoder head (upstream 0.5); the positional dropout is 0.2

    def __post_init__(self):
        if self.aggregator not in AGGREGATORS:
            raise ValueError(f"aggregator must be one of {AGGREGATORS}, got {self.aggregator!r}")


def sinusoidal(length: int, dim: int) -> torch.Tensor:
    position = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq)[:, : dim // 2]
    return pe  # [L, D]


class LtaModel(nn.Module):
    def __init__(self, cfg: LtaConfig):
        super().__init__()
        self.cfg = cfg
        # per-dimension standardisation of the clip features, set from the training windows (set_input_stats)
        self.register_buffer("feat_mean", torch.zeros(cfg.input_dim))
        self.register_buffer("feat_std", torch.ones(cfg.input_dim))
        if cfg.aggregator == "concat":
            self.embed = nn.Linear(cfg.num_input * cfg.input_dim, cfg.dim)
        else:
            self.embed = nn.Linear(cfg.input_dim, cfg.dim)
        if cfg.aggregator == "transformer":
            self.register_buffer("pe", sinusoidal(cfg.num_input, cfg.dim), persistent=False)
            self.pe_drop = nn.Dropout(0.2)
            layer = nn.TransformerEncoderLayer(cfg.dim, cfg.heads, 4 * cfg.dim, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(cfg.dim)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(cfg.dim, cfg.num_verbs + cfg.num_nouns))
            for _ in range(cfg.num_future)
        )

    def set_input_stats(self, x: torch.Tensor) -> None:
        """Standardise inputs by the mean / std over the training windows' clip features x [S, N, Din]."""
        flat = x.reshape(-1, x.shape[-1]).float()
        self.feat_mean.copy_(flat.mean(0))
        self.feat_std.copy_(flat.std(0).clamp_min(1e-6))

    def aggregate(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, N, Din] -> [B, D]."""
        x = (x - self.feat_mean) / self.feat_std
        if self.cfg.aggregator == "concat":
            return self.embed(x.flatten(1))
        if self.cfg.aggregator == "mean":
            return self.embed(x.mean(1))
        h = self.pe_drop(self.embed(x) + self.pe[: x.shape[1]])  # [B, N, D]
        return self.norm(self.encoder(h))[:, -1]  # the last observed step

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, N, Din] -> verb logits [B, Z, V], noun logits [B, Z, Nn]."""
        h = self.aggregate(x)
        out = torch.stack([head(h) for head in self.heads], 1)  # [B, Z, V + Nn]
        return out[..., : self.cfg.num_verbs], out[..., self.cfg.num_verbs :]

    @torch.no_grad()
    def generate(self, x: torch.Tensor, k: int = 5, generator: torch.Generator | None = None):
        """-> verbs [B, K, Z], nouns [B, K, Z] (int64): K samples per position, or the argmax when k == 1."""
        verb, noun = self(x)
        return sample_sequences(verb, k, generator), sample_sequences(noun, k, generator)


def sample_sequences(logits: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """logits [B, Z, C] -> [B, K, Z]."""
    if k == 1:
        return logits.argmax(-1)[:, None]
    b, z, c = logits.shape
    probs = logits.float().softmax(-1).reshape(b * z, c)
    draws = torch.multinomial(probs, k, replacement=True, generator=generator)  # [B*Z, K]
    return draws.view(b, z, k).permute(0, 2, 1)
