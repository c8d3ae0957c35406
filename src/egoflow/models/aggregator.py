"""The video-level aggregator: K clip embeddings of one long video [B, K, D] -> one embedding [B, D].

`self-attention` is HierVL's aggregator as the counterfactual method uses it (`VisionTransformer` in
model/vit.py of facebookresearch/HierVL @ 998a852 and HCIS-Lab/state-change-counterfactual-video-pretrain
@ 02a3dac): a learned position table [1, 16, D] added to the clips, a CLS token prepended (it gets no
position), 6 pre-norm blocks of joint attention (8 heads, MLP 4x, no qkv bias, stochastic depth rising 0 ->
0.1), a final LayerNorm (eps 1e-5, PyTorch's default, unlike the video model's 1e-6); the output is the CLS
token. `average` is HierVL-Avg's ablation: the mean over the clips, no parameters.

Upstream builds, and saves, parameters its forward never uses (a patch embedding, a time table, a second
"temporal" attention per block, a classifier head); they are left out here and ignored by name when a
released checkpoint is loaded (pretrained.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from egoflow.models.video_transformer import Mlp, drop_path

KINDS = ("self-attention", "average")


@dataclass
class AggregatorConfig:
    kind: str = "self-attention"  # self-attention | average
    dim: int = 768  # = the projection dim of the clip embeddings (768 CF, 256 HierVL)
    num_clips: int = 16  # rows of the position table; a video may bring fewer clips (the first K rows)
    depth: int = 6
    heads: int = 8
    mlp_ratio: float = 4.0
    qkv_bias: bool = False
    ln_eps: float = 1e-5
    dropout: float = 0.0
    drop_path: float = 0.1  # stochastic depth, rising linearly from 0 at the first block to this at the last

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"aggregator kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "self-attention" and self.dim % self.heads:
            raise ValueError(f"aggregator dim {self.dim} is not divisible by heads {self.heads}")


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, qkv_bias: bool, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = (
            self.qkv(x).view(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        )  # [B, h, N, hd]
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(out))


class Block(nn.Module):
    def __init__(self, config: AggregatorConfig, drop_path_rate: float):
        super().__init__()
        c = config
        self.norm1 = nn.LayerNorm(c.dim, eps=c.ln_eps)
        self.attn = Attention(c.dim, c.heads, c.qkv_bias, c.dropout)
        self.norm2 = nn.LayerNorm(c.dim, eps=c.ln_eps)
        self.mlp = Mlp(c.dim, int(c.dim * c.mlp_ratio), c.dropout)
        self.drop_path_rate = drop_path_rate

    def forward(self, x):
        x = x + drop_path(self.attn(self.norm1(x)), self.drop_path_rate, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path_rate, self.training)


class Aggregator(nn.Module):
    def __init__(self, config: AggregatorConfig):
        super().__init__()
        c = self.config = config
        if c.kind == "average":
            return
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, c.num_clips, c.dim))
        self.pos_drop = nn.Dropout(c.dropout)
        rates = [c.drop_path * i / max(c.depth - 1, 1) for i in range(c.depth)]  # linear, 0 -> drop_path
        self.blocks = nn.ModuleList(Block(c, rate) for rate in rates)
        self.norm = nn.LayerNorm(c.dim, eps=c.ln_eps)
        # upstream init: truncated normal (std 0.02) for the tables and every Linear, zero biases
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:  # [B, K, D] -> [B, D]
        B, K, D = clips.shape
        c = self.config
        if c.dim != D:
            raise ValueError(f"clip embeddings have dim {D}, the aggregator expects {c.dim}")
        if c.kind == "average":
            return clips.mean(dim=1)
        if c.num_clips < K:
            raise ValueError(f"{K} clips per video, the aggregator's position table has {c.num_clips}")
        x = clips + self.pos_embed[:, :K]
        x = self.pos_drop(torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1))  # [B, 1 + K, D]
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]
