"""A frozen image backbone: uint8 RGB frames [B, H, W, 3] -> [B, D] float32 embeddings.

Architectures come from `transformers` (torchvision, and so timm, does not work beside the CPU torch builds we
pin — see dependency-facts.md); `timm` is accepted as an optional extra where it imports. Transforms are plain
torch: the whole frame is resized to the model's square input (no crop, so nothing at the frame edge is lost —
egocentric hands often are there) and normalised with the configured mean/std.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from egoflow.devices import offline, pick_device, resolve_model

ARCHITECTURES = ("vit", "resnet", "clip_vision", "timm")


@dataclass
class BackboneConfig:
    architecture: str = "vit"  # vit | resnet | clip_vision (transformers) | timm (optional extra)
    checkpoint: str = (
        "resources/models/tiny-vit"  # local folder or hub id (timm: a model name; weights via timm)
    )
    image_size: int = 0  # input side in pixels; 0 = the model config's image_size (224 if it has none)
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])  # ImageNet; CLIP uses its own
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    batch_size: int = 32  # frames per forward pass
    device: str = "auto"


class VisualBackbone:
    def __init__(self, config: BackboneConfig):
        if config.architecture not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {config.architecture!r}; known: {', '.join(ARCHITECTURES)}"
            )
        self.config = config
        self.device = pick_device(config.device)
        self.model = self._load().eval().requires_grad_(False).to(self.device)
        model_size = getattr(getattr(self.model, "config", None), "image_size", 224)
        self.image_size = config.image_size or int(model_size)
        self.mean = torch.tensor(config.mean, device=self.device).view(1, 3, 1, 1)  # [1, 3, 1, 1]
        self.std = torch.tensor(config.std, device=self.device).view(1, 3, 1, 1)
        with torch.inference_mode():
            self.dim = int(self.embed(np.zeros((1, 8, 8, 3), dtype=np.uint8)).shape[1])

    def _load(self) -> torch.nn.Module:
        arch, source = self.config.architecture, resolve_model(self.config.checkpoint)
        kwargs = {"local_files_only": offline()}
        if arch == "vit":
            from transformers import ViTModel

            return ViTModel.from_pretrained(source, add_pooling_layer=False, **kwargs)
        if arch == "resnet":
            from transformers import ResNetModel

            return ResNetModel.from_pretrained(source, **kwargs)
        if arch == "clip_vision":
            from transformers import CLIPVisionModel

            return CLIPVisionModel.from_pretrained(source, **kwargs)
        try:
            import timm
        except Exception as error:  # ImportError, or torchvision's operator errors on CPU torch
            raise RuntimeError(f"architecture 'timm' needs a working timm + torchvision ({error})") from None
        return timm.create_model(source, pretrained=not offline(), num_classes=0)

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 [B, H, W, 3] -> normalised float [B, 3, S, S]."""
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"expected frames [B, H, W, 3], got {frames.shape}")
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        x = x.permute(0, 3, 1, 2).float() / 255.0  # [B, H, W, 3] -> [B, 3, H, W]
        size = (self.image_size, self.image_size)
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)  # [B, 3, S, S]
        return (x - self.mean) / self.std

    @torch.inference_mode()
    def embed(self, frames: np.ndarray) -> np.ndarray:
        """[B, D] float32: ViT CLS token, ResNet global-average pool, CLIP pooled output, timm pooled features."""
        x = self.preprocess(frames)
        arch = self.config.architecture
        if arch == "timm":
            out = self.model(x)
        elif arch == "vit":
            out = self.model(pixel_values=x).last_hidden_state[:, 0]  # [B, L, D] -> [B, D] CLS
        else:
            out = self.model(pixel_values=x).pooler_output.flatten(1)  # resnet: [B, D, 1, 1] -> [B, D]
        return out.float().cpu().numpy()
