"""The divided space-time video transformer of Frozen-in-Time (`SpaceTimeTransformer`), as EgoVLP, HierVL and
the state-change counterfactual method use it: video [B, T, 3, H, W] -> (video embedding [B, D], frame
embeddings [B, T, D]).

One block, in upstream order (m-bain/frozen-in-time model/video_transformer.py @ e1f13e1, identical in
showlab/EgoVLP @ 928406c and HCIS-Lab/state-change-counterfactual-video-pretrain @ 02a3dac):

    t = x + timeattn(norm3(x))          patch tokens attend over time (same patch position, every frame)
    s = attn(norm1(t))                  patch tokens attend over space (every patch of the same frame)
    x = x + drop_path(s)                the spatial residual goes to the block input, not to t
    x = x + drop_path(mlp(norm2(x)))

In both attentions the CLS token is a key/value of every group, and the CLS query attends to all tokens of
the clip. Positions: a learned spatial table [1, 1 + n, D] tiled over frames plus a temporal table with
`num_frames` slots (upstream builds 16 and uses the first T). Video embedding = the final-norm CLS token;
frame embeddings = the mean of each frame's final-norm patch tokens.

Parameter names are upstream's, so released checkpoints load by name (see pretrained.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

TIME_INITS = ("zeros", "rand")


@dataclass
class VideoTransformerConfig:
    img_size: int = 224  # square input side in pixels
    patch_size: int = 16
    in_chans: int = 3
    num_frames: int = 16  # temporal-embedding slots; a clip may have fewer frames (the paper feeds 4)
    dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    ln_eps: float = 1e-6
    dropout: float = 0.0  # upstream drop_rate: on the embeddings, attention outputs and MLP
    drop_path: float = 0.0  # stochastic depth, rising linearly from 0 at the first block to this at the last
    # zeros: time attention starts as a no-op (qkv 0, out-proj weight all ones, bias 0), so a fresh model is
    # an ImageNet ViT applied per frame; rand: PyTorch's default Linear init.
    time_init: str = "zeros"
    grad_checkpoint: bool = (
        False  # recompute each block in backward (training only): less memory, ~30 % slower
    )

    @classmethod
    def vit_base(cls, **overrides) -> VideoTransformerConfig:
        """The paper's ViT-B/16 at 224 px (what `jx_vit_base_p16_224` and the released checkpoints fit)."""
        return cls(**overrides)

    @classmethod
    def tiny(cls, **overrides) -> VideoTransformerConfig:
        """A CPU-sized model for the demo and tests: 64 px, 16 patches per frame, 2 blocks of width 64."""
        return cls(**{**dict(img_size=64, patch_size=16, dim=64, depth=2, heads=4), **overrides})

    def __post_init__(self):
        if self.time_init not in TIME_INITS:
            raise ValueError(f"time_init must be one of {TIME_INITS}, got {self.time_init!r}")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if self.img_size % self.patch_size:
            raise ValueError(f"img_size {self.img_size} is not divisible by patch_size {self.patch_size}")

    @property
    def patches_per_frame(self) -> int:
        return (self.img_size // self.patch_size) ** 2


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth: drop the whole residual branch of a sample with probability p."""
    if p == 0.0 or not training:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - p)
    return x * keep / (1 - p)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(F.gelu(self.fc1(x)))))


class DividedAttention(nn.Module):
    """Multi-head attention within groups of patch tokens (one frame, or one patch position over time).

    Upstream's VarAttention: every group also sees the CLS token as key/value; the CLS query sees all tokens.
    """

    def __init__(self, dim: int, heads: int, qkv_bias: bool, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, frames: int, group: str) -> torch.Tensor:
        B, N, C = x.shape  # N = 1 + T * n
        h, hd, T = self.heads, C // self.heads, frames
        n = (N - 1) // T
        q, k, v = self.qkv(x).view(B, N, 3, h, hd).permute(2, 0, 3, 1, 4)  # each [B, h, N, hd]
        cls_out = F.scaled_dot_product_attention(q[:, :, :1], k, v)  # [B, h, 1, hd]: CLS attends to the clip

        # patch tokens [B, h, T, n, hd] -> groups folded into the batch: [B * G, h, L, hd]
        if group == "space":
            G, L, perm, back = T, n, (0, 2, 1, 3, 4), (0, 2, 1, 3, 4)  # [B, T, h, n, hd]
        else:
            G, L, perm, back = n, T, (0, 3, 1, 2, 4), (0, 2, 3, 1, 4)  # [B, n, h, T, hd]
        q_, k_, v_ = (
            t[:, :, 1:].unflatten(2, (T, n)).permute(perm).reshape(B * G, h, L, hd) for t in (q, k, v)
        )
        cls_k, cls_v = (t[:, None, :, :1].expand(B, G, h, 1, hd).reshape(B * G, h, 1, hd) for t in (k, v))
        out = F.scaled_dot_product_attention(q_, torch.cat([cls_k, k_], 2), torch.cat([cls_v, v_], 2))
        out = out.view(B, G, h, L, hd).permute(back).reshape(B, h, T * n, hd)  # back to [B, h, T * n, hd]

        out = torch.cat([cls_out, out], dim=2).transpose(1, 2).reshape(B, N, C)  # [B, N, C]
        return self.proj_drop(self.proj(out))


class SpaceTimeBlock(nn.Module):
    def __init__(self, config: VideoTransformerConfig, drop_path_rate: float):
        super().__init__()
        c = config
        self.norm1 = nn.LayerNorm(c.dim, eps=c.ln_eps)
        self.attn = DividedAttention(c.dim, c.heads, c.qkv_bias, c.dropout)
        self.timeattn = DividedAttention(c.dim, c.heads, c.qkv_bias, c.dropout)
        self.norm2 = nn.LayerNorm(c.dim, eps=c.ln_eps)
        self.mlp = Mlp(c.dim, int(c.dim * c.mlp_ratio), c.dropout)
        self.norm3 = nn.LayerNorm(c.dim, eps=c.ln_eps)
        self.drop_path_rate = drop_path_rate
        if c.time_init == "zeros":
            # upstream fills the out-projection with ones (not the identity) so that gradients can leave the
            # all-zero start; with q = k = v = 0 the time branch still outputs exactly 0
            with torch.no_grad():
                self.timeattn.qkv.weight.zero_()
                if self.timeattn.qkv.bias is not None:
                    self.timeattn.qkv.bias.zero_()
                self.timeattn.proj.weight.fill_(1.0)
                self.timeattn.proj.bias.zero_()

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:  # [B, 1 + T * n, D] -> same
        t = x + self.timeattn(self.norm3(x), frames, "time")
        x = x + drop_path(self.attn(self.norm1(t), frames, "space"), self.drop_path_rate, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path_rate, self.training)


class VideoTransformer(nn.Module):
    def __init__(self, config: VideoTransformerConfig):
        super().__init__()
        c = self.config = config
        n = c.patches_per_frame
        self.patch_embed = nn.Module()  # upstream nests the conv: patch_embed.proj.{weight,bias}
        self.patch_embed.proj = nn.Conv2d(c.in_chans, c.dim, kernel_size=c.patch_size, stride=c.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + n, c.dim))  # CLS row + one row per patch position
        # one row per temporal slot; stays 0 at init, as upstream
        self.temporal_embed = nn.Parameter(torch.zeros(1, c.num_frames, c.dim))
        self.pos_drop = nn.Dropout(c.dropout)
        rates = [c.drop_path * i / max(c.depth - 1, 1) for i in range(c.depth)]  # linear, 0 -> drop_path
        self.blocks = nn.ModuleList(SpaceTimeBlock(c, rate) for rate in rates)
        self.norm = nn.LayerNorm(c.dim, eps=c.ln_eps)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, C, H, W = video.shape
        c = self.config
        if c.num_frames < T or c.img_size != H or c.img_size != W:
            raise ValueError(
                f"video {list(video.shape)} does not fit the model: at most {c.num_frames} frames "
                f"of {c.img_size}x{c.img_size}"
            )
        n = c.patches_per_frame
        x = self.patch_embed.proj(video.reshape(B * T, C, H, W))  # [B*T, D, H/p, W/p]
        x = x.flatten(2).transpose(1, 2).reshape(B, T * n, c.dim)  # [B, T*n, D], frame-major
        pos = self.pos_embed[:, 1:, None] + self.temporal_embed[:, None, :T]  # [1, n, T, D]
        x = x + pos.transpose(1, 2).reshape(1, T * n, c.dim)  # position of patch j in frame f: row j + slot f
        cls = self.cls_token + self.pos_embed[:, :1]  # [1, 1, D]
        x = self.pos_drop(torch.cat([cls.expand(B, -1, -1), x], dim=1))  # [B, 1 + T*n, D]
        for block in self.blocks:
            if c.grad_checkpoint and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, T, use_reentrant=False)
            else:
                x = block(x, T)
        x = self.norm(x)
        frames = x[:, 1:].reshape(B, T, n, c.dim).mean(dim=2)  # [B, T, D]
        return x[:, 0], frames  # [B, D], [B, T, D]

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def flops_per_clip(config: VideoTransformerConfig, frames: int) -> int:
    """Matmul FLOPs of one forward pass on one clip (2 per multiply-add; LayerNorm, softmax, GELU left out).

    For MFU: training costs about 3x this (forward + backward).
    """
    c, n = config, config.patches_per_frame
    N, D, T = 1 + frames * n, c.dim, frames
    hidden = int(c.dim * c.mlp_ratio)
    patch = 2 * frames * n * (c.in_chans * c.patch_size**2) * D
    linear = 2 * N * D * (3 * D + D) * 2 + 2 * N * D * hidden * 2  # qkv + proj (twice: time, space) + MLP
    # attention scores and weighted sums: CLS over all N keys, each patch over its group + CLS

    def attend(queries: int, keys: int) -> int:  # q.k over all heads, then the weighted sum of values
        return 2 * 2 * queries * keys * D

    attention = 2 * attend(1, N) + attend(T * n, T + 1) + attend(T * n, n + 1)
    return patch + c.depth * (linear + attention)
