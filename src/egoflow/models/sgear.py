"""S-GEAR (Diko et al., ECCV 2024): semantically guided action anticipation (sgear-anticipation.md §3.2).

Two variants share everything after the frame features:
    features   LMDB features [B, T, Din] -> standardised by the prototype matrix's global mean / std
               -> Linear(Din -> D, no bias)                                           (the TSN / irCSN configs)
    frames     frames [B, T, 3, H, W] -> ViT (transformers, from config) per frame -> tokens
               -> 2 temporal-context (TCA) blocks -> CLS per frame                     (the ViT end-to-end config)
then
    prototype attention: the T visual prototypes closest to the time-mean feature attend over the frames,
        with a learned symmetric Toeplitz bias (cos / sin by head groups, gated); residual gate, init 0.5
    causal decoder: Linear(D -> W) -> GPT2Model (inputs_embeds, positions 0..T-1) -> Linear(W -> D)
    read-out: s = cos(future, P); future' = g * future + (1 - g) * softmax(s / sqrt(D)) @ P; Linear(D -> A)

Prototypes P [A, D]: in the frames variant a learnable matrix initialised from the visual prototypes; in the
features variant the frozen visual prototypes (computed in the LMDB feature space) mapped through the same
standardisation and input projection as the frames, so both live in the model space.

Upstream quirks kept behind flags: `upstream_protattn_reshape` (the head/time reshape of ProtAttn.forward that
mixes heads and time; off = the intended transpose), `tca_tril_zero` (TCA logits' upper triangle set to 0, not
-inf, before the softmax, as upstream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class SGearConfig:
    variant: str = "features"  # features | frames
    input_dim: int = 1024  # LMDB feature width (features variant); TSN rgb 1024, obj 352, irCSN 2048
    dim: int = 768  # model width D (ViT-B CLS)
    heads: int = 12  # prototype-attention heads (a multiple of 4: cos / sin head groups)
    num_frames: int = 15  # T
    num_actions: int = 3806  # A
    decoder_width: int = 2048  # GPT-2 n_embd
    decoder_layers: int = 6
    decoder_heads: int = 4
    dropout: float = 0.2
    learnable_prototypes: bool = False  # frames variant: true (upstream); features: frozen
    # features variant: standardise inputs by the prototype matrix's global mean / std (upstream: "global") or
    # per feature dimension ("per_dim"; for features sharing a large common component, as random-weight ones)
    standardise: str = "global"
    upstream_protattn_reshape: bool = False
    # frames variant
    vit: dict | None = None  # transformers ViTConfig kwargs (tiny for the demo); None = ViT-B/16 @ 384
    tca_blocks: int = 2
    tca_tril_zero: bool = True

    def __post_init__(self):
        if self.variant not in ("features", "frames"):
            raise ValueError(f"variant must be features or frames, got {self.variant!r}")
        if self.standardise not in ("global", "per_dim"):
            raise ValueError(f"standardise must be global or per_dim, got {self.standardise!r}")
        if self.heads % 4 or self.dim % self.heads:
            raise ValueError(f"heads ({self.heads}) must be a multiple of 4 dividing dim ({self.dim})")


class ToeplitzBias(nn.Module):
    """Per-head symmetric Toeplitz matrix [H, T, T] (entry t[h, |i - j|], init 0.5), cos / sin by head groups."""

    def __init__(self, heads: int, size: int):
        super().__init__()
        self.values = nn.Parameter(torch.full((heads, size), 0.5))
        idx = torch.arange(size)
        self.register_buffer("lag", (idx[:, None] - idx[None, :]).abs(), persistent=False)  # [T, T]
        group = torch.arange(heads) // max(1, heads // 4)  # heads 0..H/4-1 group 0, ...
        self.register_buffer("use_sin", (group % 2 == 1).view(heads, 1, 1), persistent=False)

    def forward(self) -> torch.Tensor:
        m = self.values[:, self.lag]  # [H, T, T]
        return torch.where(self.use_sin, torch.sin(m), torch.cos(m))


class PrototypeAttention(nn.Module):
    """q = retrieved prototype tokens, k = frame features, v = prototype tokens; Toeplitz-mixed map."""

    def __init__(self, cfg: SGearConfig):
        super().__init__()
        self.heads, self.dim, self.upstream = cfg.heads, cfg.dim, cfg.upstream_protattn_reshape
        self.q = nn.Linear(cfg.dim, cfg.dim)
        self.k = nn.Linear(cfg.dim, cfg.dim)
        self.v = nn.Linear(cfg.dim, cfg.dim)
        self.proj = nn.Linear(cfg.dim, cfg.dim)
        self.toeplitz = ToeplitzBias(cfg.heads, cfg.num_frames)
        self.gate = nn.Parameter(torch.full((cfg.heads, 1, 1), 0.5))

    def forward(self, tokens: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        b, t, d = feats.shape  # tokens [B, T, D] (T retrieved prototypes), feats [B, T, D]
        h, hd = self.heads, d // self.heads

        def split(x):  # [B, T, D] -> [B, H, T, hd]
            return x.view(b, t, h, hd).transpose(1, 2)

        q, k, v = split(self.q(tokens)) * hd**-0.5, split(self.k(feats)), split(self.v(tokens))
        attn = (q @ k.transpose(-2, -1)).softmax(-1)  # [B, H, T, T]
        g = torch.sigmoid(self.gate)
        attn = g * attn + (1 - g) * self.toeplitz()
        out = attn @ v  # [B, H, T, hd]
        # intended: back to [B, T, H*hd]; upstream reshapes without moving the head axis (mixes heads and time)
        out = out.reshape(b, t, d) if self.upstream else out.transpose(1, 2).reshape(b, t, d)
        return self.proj(out)


class TCABlock(nn.Module):
    """Pre-norm block: attention within each frame's tokens, keys / values plus a learned causal cumulative
    sum of the previous frames' (detached) keys / values; MLP ratio 4."""

    def __init__(self, dim: int, heads: int, frames: int, tril_zero: bool):
        super().__init__()
        self.heads, self.tril_zero = heads, tril_zero
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.time_weights = nn.Parameter(torch.zeros(frames))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, t, n, d = x.shape  # [B, T, N tokens, D]
        h, hd = self.heads, d // self.heads
        q, k, v = self.qkv(x).view(b, t, n, 3, h, hd).permute(3, 0, 1, 4, 2, 5)  # 3 x [B, T, H, N, hd]
        w = self.time_weights[:t].view(1, t, 1, 1, 1)
        # cumulative over earlier frames only (cumsum minus self), weighted, detached: no gradient into the past
        k = k + (torch.cumsum(w * k.detach(), 1) - w * k.detach())
        v = v + (torch.cumsum(w * v.detach(), 1) - w * v.detach())
        logits = (q @ k.transpose(-2, -1)) * hd**-0.5  # [B, T, H, N, N]
        if self.tril_zero:
            logits = torch.tril(logits)  # upstream: upper triangle set to 0 (not -inf)
        out = logits.softmax(-1) @ v  # [B, T, H, N, hd]
        return self.proj(out.transpose(2, 3).reshape(b, t, n, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SGear(nn.Module):
    def __init__(self, cfg: SGearConfig, prototypes: torch.Tensor):
        """prototypes: [A, Din] (features variant, LMDB space) or [A, D] (frames variant)."""
        super().__init__()
        from transformers import GPT2Config, GPT2Model

        self.cfg = cfg
        d = cfg.dim
        if prototypes.shape[0] != cfg.num_actions:
            raise ValueError(f"{prototypes.shape[0]} prototypes for {cfg.num_actions} actions")
        if cfg.variant == "features":
            self.input_proj = nn.Linear(cfg.input_dim, d, bias=False)
            # the global mean / std of the prototype matrix standardise every input (S-GEAR feature configs)
            if cfg.standardise == "per_dim":
                self.register_buffer("feat_mean", prototypes.mean(0))  # [Din]
                self.register_buffer("feat_std", prototypes.std(0).clamp_min(1e-6))
            else:
                self.register_buffer("feat_mean", prototypes.mean().reshape(()))
                self.register_buffer("feat_std", prototypes.std().clamp_min(1e-6).reshape(()))
        else:
            from transformers import ViTConfig, ViTModel

            self.backbone = ViTModel(ViTConfig(**(cfg.vit or {"image_size": 384})), add_pooling_layer=False)
            width = self.backbone.config.hidden_size
            self.backbone_proj = nn.Identity() if width == d else nn.Linear(width, d, bias=False)
            heads = max(1, d // 64)
            self.tca = nn.ModuleList(
                TCABlock(d, heads, cfg.num_frames, cfg.tca_tril_zero) for _ in range(cfg.tca_blocks)
            )
        if cfg.learnable_prototypes:
            self.prototypes = nn.Parameter(prototypes.float().clone())
        else:
            self.register_buffer("prototypes", prototypes.float().clone())
        self.prot_attn = PrototypeAttention(cfg)
        self.alpha = nn.Parameter(torch.tensor(0.5))  # residual gate of prototype attention
        self.beta = nn.Parameter(torch.tensor(0.5))  # read-out gate
        self.dec_in = nn.Linear(d, cfg.decoder_width, bias=False)
        gpt = GPT2Config(
            vocab_size=1,  # no token embedding is used: inputs_embeds
            n_positions=cfg.num_frames,
            n_embd=cfg.decoder_width,
            n_layer=cfg.decoder_layers,
            n_head=cfg.decoder_heads,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=None,  # no vocabulary: no special tokens
            eos_token_id=None,
        )
        self.decoder = GPT2Model(gpt)
        self.dec_out = nn.Linear(cfg.decoder_width, d, bias=False)
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(d, cfg.num_actions)

    def model_prototypes(self) -> torch.Tensor:
        """[A, D] prototypes in the model space."""
        if self.cfg.variant == "features":
            return self.input_proj((self.prototypes - self.feat_mean) / self.feat_std)
        return self.prototypes

    def frame_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (feats [B, T, D] after TCA, vis_feats [B, T, D] before it)."""
        if self.cfg.variant == "features":
            f = self.input_proj((x - self.feat_mean) / self.feat_std)  # [B, T, Din] -> [B, T, D]
            return f, f
        b, t = x.shape[:2]
        tokens = self.backbone(pixel_values=x.flatten(0, 1)).last_hidden_state  # [B*T, N, width]
        tokens = self.backbone_proj(tokens).unflatten(0, (b, t))  # [B, T, N, D]
        vis = tokens[:, :, 0]
        for block in self.tca:
            tokens = block(tokens)
        return tokens[:, :, 0], vis

    def read_out(self, z: torch.Tensor, protos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z [..., D] -> (blended [..., D], cosine similarities [..., A])."""
        s = F.normalize(z, dim=-1) @ F.normalize(protos, dim=-1).T  # [..., A]
        r = (s / math.sqrt(z.shape[-1])).softmax(-1) @ protos.detach()  # [..., D]
        g = torch.sigmoid(self.beta)
        return g * z + (1 - g) * r, s

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        protos = self.model_prototypes()  # [A, D]
        feats, vis = self.frame_features(x)  # [B, T, D] each
        t = feats.shape[1]
        # the T prototypes most similar (cosine) to the time-mean visual feature; prototypes detached
        sim = F.normalize(vis.mean(1), dim=-1) @ F.normalize(protos.detach(), dim=-1).T  # [B, A]
        top = sim.topk(t, dim=-1).indices  # [B, T]
        tokens = protos.detach()[top]  # [B, T, D]
        a = torch.sigmoid(self.alpha)
        feats = a * feats + (1 - a) * self.prot_attn(tokens, feats)  # [B, T, D]
        hidden = self.decoder(inputs_embeds=self.dec_in(feats)).last_hidden_state  # [B, T, W]
        pred = self.dec_out(hidden)  # [B, T, D]: pred[:, i] predicts feats[:, i + 1]
        future_z = pred[:, -1]  # [B, D]
        future, similarities = self.read_out(future_z, protos)
        past_z = torch.cat([feats[:, :1], pred[:, :-1]], 1)  # [B, T, D]
        past, _ = self.read_out(past_z, protos)
        return {
            "logits": self.classifier(self.dropout(future)),  # [B, A]
            "past_logits": self.classifier(self.dropout(past)),  # [B, T, A]
            "similarities": similarities,  # [B, A]
            "future_z": future_z,  # [B, D]
            "pred": pred,  # [B, T, D]
            "feats": feats,  # [B, T, D]
            "prototypes": protos,  # [A, D]
        }
