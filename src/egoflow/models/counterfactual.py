"""The trainable part of state-change counterfactual pretraining (Kung et al., ICCV 2025): a video encoder, its
projections and the video-level aggregator. Text is not encoded here: frozen FLAVA features (768-d) come from
the HDF5 text stores and are compared in the projection space.

Submodule names are upstream's (`CF` in model/counterfactual.py of HCIS-Lab/state-change-counterfactual-
video-pretrain @ 02a3dac; `FrozenInTime` in model/model.py of showlab/EgoVLP @ 928406c and facebookresearch/
HierVL @ 998a852), so the released checkpoints load by name:

    video_model   the space-time transformer                         video_model.*
    vid_proj      Sequential(Linear(768, P)) on the CLS embedding      vid_proj.0.{weight,bias}
    frame_proj    Sequential(Linear(768, P)) on the frame embeddings   frame_proj.0.*   (CF only)
    aggregation   the aggregator over a video's clip embeddings         aggregation.*    (CF, HierVL)
    txt_proj      a text projection, only when text needs one           txt_proj.{0|1}.*

projection "minimal" is CF's layout (P = 768; frame_proj; a text projection would be one Linear).
projection "egovlp" is EgoVLP's / HierVL's (P = 256; no frame_proj, so frame embeddings go through vid_proj;
a text projection is ReLU then Linear, as their txt_proj on the DistilBERT CLS).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
import torch.nn as nn

from egoflow.models.aggregator import Aggregator, AggregatorConfig
from egoflow.models.video_transformer import VideoTransformer, VideoTransformerConfig

PROJECTIONS = ("minimal", "egovlp")


@dataclass
class CounterfactualModelConfig:
    video: VideoTransformerConfig = field(default_factory=VideoTransformerConfig)
    aggregator: AggregatorConfig = field(default_factory=AggregatorConfig)  # its dim must be projection_dim
    projection: str = "minimal"  # minimal (CF) | egovlp (EgoVLP, HierVL)
    projection_dim: int = 768
    # Width of the text features the embeddings are compared with (FLAVA: 768). None = no text side here
    # (video-only use, e.g. features from a released EgoVLP encoder). A txt_proj is built when text_dim differs
    # from projection_dim, or when text_projection is set; with CF's 768 -> 768 there is none, as upstream.
    text_dim: int | None = 768
    text_projection: bool = False

    def __post_init__(self):
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {self.projection!r}")
        if self.aggregator.dim != self.projection_dim:
            raise ValueError(
                f"aggregator.dim {self.aggregator.dim} must equal projection_dim {self.projection_dim}: "
                "the aggregator reads projected clip embeddings"
            )

    @property
    def has_text_projection(self) -> bool:
        return self.text_dim is not None and (self.text_projection or self.text_dim != self.projection_dim)

    @classmethod
    def from_dict(cls, d: dict) -> CounterfactualModelConfig:
        """From plain (YAML) dicts; the aggregator's dim defaults to projection_dim."""
        d = dict(d)
        video = VideoTransformerConfig(**d.pop("video", {}))
        projection_dim = d.get("projection_dim", 768)
        aggregator = AggregatorConfig(**{"dim": projection_dim, **d.pop("aggregator", {})})
        return cls(video=video, aggregator=aggregator, **d)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def paper(cls, **overrides) -> CounterfactualModelConfig:
        """CF as released: ViT-B/16 with 16 temporal slots, 768-d projections, self-attention aggregator."""
        return cls(**overrides)

    @classmethod
    def egovlp(cls, **overrides) -> CounterfactualModelConfig:
        """EgoVLP's video side (256-d vid_proj, no aggregator parameters); video-only by default."""
        base = dict(projection="egovlp", projection_dim=256, text_dim=None)
        return cls(aggregator=AggregatorConfig(kind="average", dim=256), **{**base, **overrides})

    @classmethod
    def hiervl(cls, **overrides) -> CounterfactualModelConfig:
        """HierVL-SA's video side: as EgoVLP plus its 256-d self-attention aggregator."""
        base = dict(projection="egovlp", projection_dim=256, text_dim=None)
        return cls(aggregator=AggregatorConfig(dim=256), **{**base, **overrides})

    @classmethod
    def tiny(cls, text_dim: int | None = 32, **overrides) -> CounterfactualModelConfig:
        """The demo model: tiny video transformer, 64-d projections, a 2-block aggregator (tiny FLAVA: 32-d)."""
        base = dict(
            video=VideoTransformerConfig.tiny(),
            aggregator=AggregatorConfig(dim=64, depth=2, heads=4),
            projection_dim=64,
            text_dim=text_dim,
        )
        return cls(**{**base, **overrides})


class Embeddings(NamedTuple):
    video: torch.Tensor  # [B, P]: clip embeddings; for videos of K clips the aggregated video embeddings
    frames: torch.Tensor  # [B, T, P]; for videos [B, K, T, P]
    clips: torch.Tensor | None  # [B, K, P] clip embeddings of videos; None for clips
    text: torch.Tensor | None  # [B, P] projected text, when text was given


class CounterfactualModel(nn.Module):
    def __init__(self, config: CounterfactualModelConfig):
        super().__init__()
        c = self.config = config
        D, P = c.video.dim, c.projection_dim
        self.video_model = VideoTransformer(c.video)
        self.vid_proj = nn.Sequential(nn.Linear(D, P))
        if c.projection == "minimal":
            self.frame_proj = nn.Sequential(nn.Linear(D, P))
        if c.has_text_projection:
            linear = nn.Linear(c.text_dim, P)
            self.txt_proj = (
                nn.Sequential(linear) if c.projection == "minimal" else nn.Sequential(nn.ReLU(), linear)
            )
        self.aggregation = Aggregator(c.aggregator)

    def encode_video(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """video [B, T, 3, H, W] -> (video_emb [B, P], frame_emb [B, T, P])."""
        cls, frames = self.video_model(video)  # [B, D], [B, T, D]
        frame_proj = self.frame_proj if self.config.projection == "minimal" else self.vid_proj
        return self.vid_proj(cls), frame_proj(frames)

    def encode_text(self, text: torch.Tensor) -> torch.Tensor:
        """Frozen text features [..., text_dim] -> [..., P] (unchanged when no projection is needed)."""
        if self.config.text_dim is None:
            raise ValueError("this model has no text side (text_dim is None)")
        if text.shape[-1] != self.config.text_dim:
            raise ValueError(
                f"text features have dim {text.shape[-1]}, the model expects {self.config.text_dim}"
            )
        return self.txt_proj(text) if self.config.has_text_projection else text

    def aggregate(self, clip_embs: torch.Tensor) -> torch.Tensor:
        """Projected clip embeddings of each video [B, K, P] -> video embeddings [B, P]."""
        return self.aggregation(clip_embs)

    def forward(self, video: torch.Tensor, text: torch.Tensor | None = None) -> Embeddings:
        """Clips [B, T, 3, H, W], or videos of K clips [B, K, T, 3, H, W] (encoded, then aggregated).

        One entry point, so that DDP sees every use of the parameters.
        """
        text_emb = None if text is None else self.encode_text(text)
        if video.ndim == 5:
            video_emb, frames = self.encode_video(video)
            return Embeddings(video_emb, frames, None, text_emb)
        if video.ndim != 6:
            raise ValueError(
                f"expected clips [B, T, 3, H, W] or videos [B, K, T, 3, H, W], got {list(video.shape)}"
            )
        B, K = video.shape[:2]
        clips, frames = self.encode_video(video.flatten(0, 1))  # [B*K, P], [B*K, T, P]
        clips, frames = clips.unflatten(0, (B, K)), frames.unflatten(0, (B, K))  # [B, K, P], [B, K, T, P]
        return Embeddings(self.aggregate(clips), frames, clips, text_emb)
