"""A frozen text encoder: texts -> [N, D] unprojected CLS vectors (FLAVA by default, any HF encoder by config).

The counterfactual-pretraining code stores FLAVA's text-encoder `last_hidden_state` and reads token 0 (CLS,
768-d, not the projection, not the pooler; counterfactual-pretraining.md §4). We keep only that row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from egoflow.devices import offline, pick_device, resolve_model
from egoflow.features.hdf5_store import TextFeatureWriter, unique_texts


@dataclass
class TextEncoderConfig:
    model: str = "facebook/flava-full"  # local folder or hub id; FLAVA uses its text model
    batch_size: int = 64  # texts per forward pass
    max_length: int = 77  # tokens; FLAVA's text position table has 77 entries
    device: str = "auto"  # auto | cpu | cuda | cuda:1 ...


class TextEncoder:
    def __init__(self, config: TextEncoderConfig):
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        self.config = config
        source = resolve_model(config.model)
        kwargs = {"local_files_only": offline()}
        self.tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model_type = AutoConfig.from_pretrained(source, **kwargs).model_type
        if model_type == "flava":
            # FlavaTextModel.from_pretrained does not map a full FLAVA checkpoint's weights (transformers 5):
            # load FlavaModel and keep its text encoder.
            from transformers import FlavaModel

            model = FlavaModel.from_pretrained(source, **kwargs).text_model
        else:
            model = AutoModel.from_pretrained(source, **kwargs)
            model = getattr(model, "text_model", model)  # CLIP-style dual encoders
        self.device = pick_device(config.device)
        self.model = model.eval().requires_grad_(False).to(self.device)
        self.dim = int(self.model.config.hidden_size)

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """[B, D] float32 CLS vectors; whitespace is normalised first, as the original extractor does."""
        texts = [" ".join(t.split()) for t in texts]
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.config.max_length, return_tensors="pt"
        ).to(self.device)
        hidden = self.model(**batch).last_hidden_state  # [B, L, D]
        return hidden[:, 0].float().cpu().numpy()  # [B, D] CLS


def encode_texts_to_hdf5(texts: Sequence[str], out: str | Path, config: TextEncoderConfig, **attrs) -> int:
    """Encode the distinct `texts` and write them to the HDF5 store `out`; returns the number of rows.

    Texts are encoded shortest first so batches pad little; rows follow that order (lookups go through the index).
    """
    distinct = sorted(unique_texts(texts), key=len)
    encoder = TextEncoder(config)
    attrs = {"model": config.model, "max_length": config.max_length, "pooling": "cls", **attrs}
    with TextFeatureWriter(out, distinct, encoder.dim, attrs) as writer:
        for start in tqdm(range(0, len(distinct), config.batch_size), desc=f"text features {Path(out).name}"):
            writer.append(encoder.encode(distinct[start : start + config.batch_size]))
    return len(distinct)
