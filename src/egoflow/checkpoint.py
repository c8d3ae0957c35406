"""The one place checkpoints are saved and loaded.

Loading uses `torch.load(weights_only=True)`: a checkpoint is data (tensors, numbers, strings, lists,
dicts), never code, so a shared or downloaded file cannot run anything when it is opened. Saving goes
through atomic_path, so a job killed mid-save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from egoflow.atomic import atomic_path
from egoflow.errors import InputError

# Prefixes that DDP (`module.`) and torch.compile (`_orig_mod.`) add to parameter names.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Write `state` (model/optimizer state dicts, step, resolved config as plain dicts) atomically."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by save_checkpoint (or any plain-data checkpoint).

    State dicts under "model" (and the checkpoint itself when it is one) lose DDP/compile prefixes.
    Raises InputError, naming the file, when it is missing, not a checkpoint, or holds anything but data.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise InputError(
            path, f"refused to load: it holds objects other than plain data ({error})"
        ) from error
    except (RuntimeError, EOFError, OSError) as error:
        raise InputError(path, f"not a readable torch checkpoint ({error})") from error
    if not isinstance(state, dict):
        raise InputError(path, f"expected a dict at the top level, got {type(state).__name__}")
    if isinstance(state.get("model"), dict):
        state["model"] = strip_wrapper_prefixes(state["model"])
    elif state and all(isinstance(v, torch.Tensor) for v in state.values()):
        state = strip_wrapper_prefixes(state)
    return state


def strip_wrapper_prefixes(state_dict: dict) -> dict:
    out = {}
    for key, value in state_dict.items():
        for prefix in WRAPPER_PREFIXES:
            while key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out
