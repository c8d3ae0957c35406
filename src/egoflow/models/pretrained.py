"""Initialisation from real checkpoints: an ImageNet ViT in timm's layout, or released EgoVLP / HierVL / CF files.

    report = load_pretrained(model, "jx_vit_base_p16_224-80ecf9dd.pth")      # source="auto" tells them apart
    print(report)                                                           # missing / unexpected keys by name

Every file goes through the one weights_only loader (egoflow.checkpoint). Names are matched one to one (the
models here use upstream's names); a key with another shape fails with the key, both shapes and the file,
except the position tables, which are adapted and listed in `resized`:
- `pos_embed` (spatial) for another image or patch grid: the grid rows are resampled bicubically (as timm's
  resize_pos_embed), the CLS row is kept. Upstream cannot load these at all.
- `temporal_embed` for another number of temporal slots: cut to the first slots, or padded with zeros
  (upstream's `_inflate_positional_embeds` with load_temporal_fix "zeros").

Layouts (parameter names from the upstream model code, not from downloaded files):
- imagenet: timm's VisionTransformer as in `jx_vit_base_p16_224` (cls_token, pos_embed [1, 197, 768],
  patch_embed.proj, blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm, head). It fills
  the video transformer only; the time attention, norm3 and the temporal table keep their init (`kept`), as
  do projections and aggregator. The classifier is ignored by name.
- egovlp: `{"state_dict": {"module.video_model.…", "module.vid_proj.0.…", "module.text_model.…",
  "module.txt_proj.1.…"}, "config": <parse_config.ConfigParser>, …}` (showlab/EgoVLP @ 928406c
  base/base_trainer.py `_save_checkpoint`, model/model.py FrozenInTime). The DistilBERT text tower and
  its projection are ignored by name: egoflow compares with frozen text features instead.
- hiervl: as egovlp plus `aggregation.*` (256-d) and `head_ht100m_linear_probe.0.*`, a HowTo100M probe that is
  ignored (facebookresearch/HierVL @ 998a852 model/model.py).
- cf: `video_model`, `vid_proj.0`, `frame_proj.0`, `aggregation` (768-d); no text tower
  (HCIS-Lab/state-change-counterfactual-video-pretrain @ 02a3dac model/counterfactual.py). egoflow's own
  checkpoints (`{"model": state_dict}`, names perhaps under the training wrapper's `model.`) load as cf.
HierVL's and CF's aggregator (`VisionTransformer`, model/vit.py at the same commits) also holds parameters its
forward never touches; they are ignored by name (see aggregator.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from egoflow.checkpoint import load_released_checkpoint, strip_wrapper_prefixes
from egoflow.errors import InputError
from egoflow.models.counterfactual import CounterfactualModel
from egoflow.models.video_transformer import VideoTransformer

log = logging.getLogger(__name__)

SOURCES = ("auto", "imagenet", "egovlp", "hiervl", "cf")

# Upstream parameters never used by upstream's aggregator forward (model/vit.py VisionTransformer).
_AGGREGATOR_UNUSED = (
    r"aggregation\.(patch_embed\..*|time_embed|head\..*|blocks\.\d+\.temporal_(norm1|attn|fc)\..*)"
)
IGNORED = {  # file keys skipped on purpose, per source (full-match regular expressions)
    "imagenet": [r"head\..*", r"pre_logits\..*"],  # the ImageNet classifier (pre_logits: timm's 21k variants)
    "egovlp": [r"text_model\..*", r"txt_proj\..*"],
    "hiervl": [r"text_model\..*", r"txt_proj\..*", r"head_ht100m_linear_probe\..*", _AGGREGATOR_UNUSED],
    "cf": [_AGGREGATOR_UNUSED],
}
# Video-transformer parameters an image ViT has no counterpart for: they keep their init.
_VIDEO_ONLY = r"temporal_embed|blocks\.\d+\.(timeattn|norm3)\..*"


@dataclass
class LoadReport:
    path: str
    source: str
    missing: list[str] = field(
        default_factory=list
    )  # model keys the file should fill but does not (stay at init)
    unexpected: list[str] = field(default_factory=list)  # file keys the model has no place for (not loaded)
    ignored: list[str] = field(default_factory=list)  # file keys skipped by name on purpose
    kept: list[str] = field(default_factory=list)  # model keys the source has no counterpart for (imagenet)
    resized: list[str] = field(default_factory=list)  # "key: [shape in file] -> [shape in model]"
    foreign: list[str] = field(default_factory=list)  # pickled classes replaced by inert placeholders
    loaded: int = 0  # number of tensors copied into the model

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected

    def __str__(self) -> str:
        lines = [f"{self.path} ({self.source}): {self.loaded} tensors loaded"]
        for name in ("missing", "unexpected", "resized", "ignored", "kept", "foreign"):
            keys = getattr(self, name)
            if keys:
                shown = ", ".join(keys[:20]) + (f", … ({len(keys) - 20} more)" if len(keys) > 20 else "")
                lines.append(f"  {name} ({len(keys)}): {shown}")
        return "\n".join(lines)


def load_pretrained(
    model: CounterfactualModel | VideoTransformer,
    path: str | Path,
    source: str = "auto",
    strict: bool = False,
) -> LoadReport:
    """Copy the weights of `path` into `model` (a CounterfactualModel, or a bare VideoTransformer) by name.

    source: auto | imagenet | egovlp | hiervl | cf. strict: fail (InputError) unless missing and unexpected are
    both empty. Returns the LoadReport, which is also logged.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    path = Path(path)
    state, foreign = load_released_checkpoint(path)
    weights = _find_state_dict(state, path)
    if source == "auto":
        source = detect_source(weights, path)
    report = LoadReport(str(path), source, foreign=foreign)

    video_prefix = "video_model." if isinstance(model, CounterfactualModel) else ""
    targets = model.state_dict()
    ignore = re.compile("|".join(IGNORED[source]))
    mapped: dict[str, torch.Tensor] = {}
    mismatched: list[str] = []
    for key, tensor in weights.items():
        name = None if ignore.fullmatch(key) else _model_key(key, source, video_prefix)
        if name is None:
            report.ignored.append(key)
            continue
        if name not in targets:
            report.unexpected.append(key)
            continue
        fitted = _fit(name.removeprefix(video_prefix), tensor, targets[name])
        if fitted.shape != targets[name].shape:
            mismatched.append(
                f"{key}: shape {list(tensor.shape)} in the file, {list(targets[name].shape)} in the model"
            )
            continue
        if fitted is not tensor:
            report.resized.append(f"{key}: {list(tensor.shape)} -> {list(fitted.shape)}")
        mapped[name] = fitted
    if mismatched:
        raise InputError(path, f"{len(mismatched)} tensors do not fit the model: " + "; ".join(mismatched))

    video_only = re.compile(_VIDEO_ONLY)
    for name in targets:
        if name in mapped:
            continue
        in_video = name.startswith(video_prefix)
        if source == "imagenet" and (not in_video or video_only.fullmatch(name[len(video_prefix) :])):
            report.kept.append(name)
        else:
            report.missing.append(name)

    if strict and not report.ok:
        raise InputError(path, f"does not fill the model exactly:\n{report}")
    model.load_state_dict(mapped, strict=False)
    report.loaded = len(mapped)
    log.info("%s", report)
    return report


def _model_key(key: str, source: str, video_prefix: str) -> str | None:
    """The model's name for a file key; None where it has no place by design."""
    if source == "imagenet":  # an image ViT's names are the video transformer's
        return video_prefix + key
    if video_prefix:  # released layouts use the model's own names
        return key
    # a released model into a bare video transformer: only the video model has a place there
    return key.removeprefix("video_model.") if key.startswith("video_model.") else None


def _find_state_dict(state: dict, path: Path) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint: under "state_dict" (EgoVLP, HierVL, CF), "model" (egoflow) or bare (timm)."""
    for key in ("state_dict", "model"):
        if isinstance(state.get(key), dict):
            weights = state[key]
            break
    else:
        weights = state
    bad = [key for key, value in weights.items() if not isinstance(value, torch.Tensor)]
    if bad:
        raise InputError(
            path,
            f"no state dict found: {bad[0]!r} is a {type(weights[bad[0]]).__name__}, not a tensor "
            f"(top-level keys: {', '.join(map(str, state))})",
        )
    weights = strip_wrapper_prefixes(weights)
    if weights and all(
        k.startswith("model.") for k in weights
    ):  # egoflow's training wrapper holds it as .model
        weights = {k.removeprefix("model."): v for k, v in weights.items()}
    return weights


def detect_source(weights: dict[str, torch.Tensor], path: str | Path = "<state dict>") -> str:
    """Which layout a state dict is in, from its names (see the module docstring)."""
    keys = set(weights)
    if "pos_embed" in keys and "blocks.0.attn.qkv.weight" in keys:
        return "imagenet"
    if any(k.startswith("head_ht100m_linear_probe.") for k in keys) or (
        any(k.startswith("text_model.") for k in keys) and any(k.startswith("aggregation.") for k in keys)
    ):
        return "hiervl"
    if any(k.startswith("text_model.") for k in keys):
        return "egovlp"
    if "video_model.pos_embed" in keys:
        return "cf"
    raise InputError(path, "cannot tell the checkpoint's layout from its names; pass source=")


def _fit(name: str, tensor: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """`tensor` adapted to the target's shape where it is a position table; any other tensor unchanged."""
    if tensor.shape == target.shape or tensor.ndim != 3 or tensor.shape[2] != target.shape[2]:
        return tensor
    if name == "pos_embed":
        return _resize_grid(tensor, target.shape[1] - 1)
    if name == "temporal_embed":
        slots = target.shape[1]
        return (
            tensor[:, :slots]
            if tensor.shape[1] >= slots
            else F.pad(tensor, (0, 0, 0, slots - tensor.shape[1]))
        )
    return tensor


def _resize_grid(pos_embed: torch.Tensor, patches: int) -> torch.Tensor:
    """[1, 1 + g*g, D] -> [1, 1 + patches, D]: the CLS row kept, the g x g grid resampled bicubically."""
    old, new = round((pos_embed.shape[1] - 1) ** 0.5), round(patches**0.5)
    if old * old != pos_embed.shape[1] - 1 or new * new != patches:
        return pos_embed  # not square grids: left to fail as a shape mismatch
    D = pos_embed.shape[2]
    grid = pos_embed[:, 1:].float().reshape(1, old, old, D).permute(0, 3, 1, 2)  # [1, D, g, g]
    grid = F.interpolate(grid, size=(new, new), mode="bicubic", align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new * new, D).to(pos_embed.dtype)
    return torch.cat([pos_embed[:, :1], grid], dim=1)
