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
    """Write `state` (model/optimizer state dicts, step, resolved config as plain dicts) atomically.

    Saved through an open file, not a path: torch names the archive inside after a path it is given (here the
    temp sibling's, which carries a pid), so equal states would give different bytes.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(state, handle)


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


class ForeignObject:
    """Stands in for a pickled object whose class this codebase does not have.

    Released EgoVLP / HierVL / counterfactual checkpoints pickle their trainer's `parse_config.ConfigParser`
    (with an `argparse.Namespace` and `pathlib` paths inside) under "config". weights_only refuses such
    globals; here each one becomes an inert subclass of this class that only records what the pickle hands
    it (`args`, `state`). No code of the original class runs.
    """

    name = ""

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj.args, obj.state = args, None
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state

    def __repr__(self):
        return f"<foreign {self.name}>"


def load_released_checkpoint(
    path: str | Path, *, map_location: str | torch.device = "cpu"
) -> tuple[dict, list[str]]:
    """load_checkpoint for files written by other codebases: -> (state, names of the placeholder classes).

    Still weights_only: tensors are rebuilt by torch's restricted unpickler, and every global it does not
    allow (other than those of blocked modules such as os and sys, which still fail) is mapped to a
    ForeignObject placeholder instead of being imported. Needs torch >= 2.6 (named safe globals); on older
    torch it is plain load_checkpoint.
    """
    path = Path(path)
    foreign: list[str] = []
    if path.is_file() and hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint"):
        try:
            foreign = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        except (ValueError, RuntimeError, OSError):
            foreign = []  # not a zip checkpoint (legacy format, garbage): load_checkpoint names the problem
    if not foreign:
        return load_checkpoint(path, map_location=map_location), foreign
    placeholders = [
        (type(name.rsplit(".", 1)[-1], (ForeignObject,), {"name": name}), name) for name in foreign
    ]
    with torch.serialization.safe_globals(placeholders):
        return load_checkpoint(path, map_location=map_location), foreign
