"""ASFormer (Yi et al., BMVC 2021): an encoder and refining decoders over per-frame features for temporal action
segmentation.

Each block: dilated conv feed-forward (dilation 2^i in layer i) → instance norm → local attention inside windows of
2^i frames (keys from the window widened by half a window each side) → 1×1 conv, residual. Decoders take the
softmax of the previous stage's logits; their attention reads queries / keys from that, values from the encoder's
features, and the attention branch of decoder s (from 0) is scaled by alpha = exp(-s), as upstream.
Loss per stage: CE + smooth · mean(clamp(MSE(log p_t, log p_{t-1}.detach()), 0, 16)) (MS-TCN's truncated MSE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class AsformerConfig:
    input_dim: int = 768  # frame-feature width
    num_classes: int = 11
    layers: int = 10
    maps: int = 64  # feature maps
    decoders: int = 3  # 1 encoder + 3 decoders in the paper
    r1: int = 2  # query / key channel reduction
    r2: int = 2  # value channel reduction
    channel_mask: float = 0.5  # encoder input channel dropout (0.5 GTEA, 0.3 default)
    smooth: float = 0.15  # weight of the truncated-MSE smoothing term


class LocalAttention(nn.Module):
    def __init__(self, q_dim: int, v_dim: int, out_dim: int, r1: int, r2: int, window: int, cross: bool):
        super().__init__()
        self.q = nn.Conv1d(q_dim, q_dim // r1, 1)
        self.k = nn.Conv1d(q_dim, q_dim // r1, 1)
        self.v = nn.Conv1d(v_dim, v_dim // r2, 1)
        self.out = nn.Conv1d(v_dim // r2, out_dim, 1)
        self.window, self.cross = window, cross

    def forward(self, x: torch.Tensor, f: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [B, C, T] (queries, keys), f [B, C, T] (values when cross), mask [B, 1, T] -> [B, C_out, T]."""
        b, _, t = x.shape
        w, half = self.window, self.window // 2
        q, k = self.q(x), self.k(x)
        v = self.v(f if self.cross else x)
        n = math.ceil(t / w)
        pad = n * w - t
        # Queries in blocks of w; keys / values from [block start - w/2, block end + w/2).
        qb = F.pad(q, (0, pad)).view(b, q.shape[1], n, w)
        m = F.pad(mask, (half, pad + half))
        kk = F.pad(k, (half, pad + half)).unfold(2, w + 2 * half, w)  # [B, Ck, n, w + 2·half]
        vv = F.pad(v, (half, pad + half)).unfold(2, w + 2 * half, w)
        mm = m.unfold(2, w + 2 * half, w)  # [B, 1, n, w + 2·half]
        att = torch.einsum("bcnq,bcnk->bnqk", qb, kk) / math.sqrt(q.shape[1])
        att = att + torch.log(mm.transpose(1, 2) + 1e-6)  # padded keys get ~0 weight
        att = torch.softmax(att, dim=-1)
        out = torch.einsum("bnqk,bcnk->bcnq", att, vv).reshape(b, v.shape[1], n * w)[..., :t]
        return self.out(F.relu(out)) * mask


class Block(nn.Module):
    def __init__(self, dilation: int, maps: int, r1: int, r2: int, cross: bool, alpha: float):
        super().__init__()
        self.ff = nn.Sequential(nn.Conv1d(maps, maps, 3, padding=dilation, dilation=dilation), nn.ReLU())
        self.norm = nn.InstanceNorm1d(maps, track_running_stats=False)
        self.att = LocalAttention(maps, maps, maps, r1, r2, dilation, cross)
        self.conv = nn.Conv1d(maps, maps, 1)
        self.drop = nn.Dropout()
        self.alpha = alpha

    def forward(self, x, f, mask):
        out = self.ff(x)
        out = self.alpha * self.att(self.norm(out), f, mask) + out
        out = self.drop(self.conv(out))
        return (x + out) * mask


class Stage(nn.Module):
    def __init__(self, c: AsformerConfig, in_dim: int, cross: bool, alpha: float, channel_mask: float):
        super().__init__()
        self.channel_drop = nn.Dropout1d(channel_mask) if channel_mask > 0 else nn.Identity()
        self.inp = nn.Conv1d(in_dim, c.maps, 1)
        self.blocks = nn.ModuleList(Block(2**i, c.maps, c.r1, c.r2, cross, alpha) for i in range(c.layers))
        self.cls = nn.Conv1d(c.maps, c.num_classes, 1)

    def forward(self, x, f, mask):
        h = self.inp(self.channel_drop(x))
        for block in self.blocks:
            h = block(h, f, mask)
        return self.cls(h) * mask, h


class Asformer(nn.Module):
    def __init__(self, config: AsformerConfig):
        super().__init__()
        self.config = c = config
        self.encoder = Stage(c, c.input_dim, cross=False, alpha=1.0, channel_mask=c.channel_mask)
        self.decoders = nn.ModuleList(
            Stage(c, c.num_classes, cross=True, alpha=math.exp(-s), channel_mask=0.0)
            for s in range(c.decoders)
        )

    def stages(self, features: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """features [B, D, T], mask [B, T] (1 valid) -> per stage logits [B, K, T]."""
        m = mask[:, None].to(features.dtype)
        logits, h = self.encoder(features, None, m)
        outs = [logits]
        for decoder in self.decoders:
            logits, h = decoder(torch.softmax(logits, dim=1) * m, h * m, m)
            outs.append(logits)
        return outs

    def forward(self, batch: dict, objective: str = "segmentation") -> dict[str, torch.Tensor]:
        """batch: features [B, D, T], labels [B, T] (-100 padding), mask [B, T] -> {"ce", "smooth"}."""
        labels, mask = batch["labels"], batch["mask"]
        ce = smooth = 0.0
        for logits in self.stages(batch["features"], mask):
            ce = ce + F.cross_entropy(logits, labels, ignore_index=-100)
            logp = F.log_softmax(logits, dim=1)
            mse = F.mse_loss(logp[:, :, 1:], logp[:, :, :-1].detach(), reduction="none").clamp(0, 16)
            pair = mask[:, None, 1:].to(mse.dtype)
            smooth = smooth + (mse * pair).sum() / (pair.sum() * mse.shape[1]).clamp_min(1)
        return {"ce": ce, "smooth": self.config.smooth * smooth}

    @torch.no_grad()
    def predict(self, features: torch.Tensor) -> torch.Tensor:
        """features [D, T] -> [T] labels of the last stage."""
        mask = torch.ones(1, features.shape[1], device=features.device)
        return self.stages(features[None], mask)[-1][0].argmax(0)
