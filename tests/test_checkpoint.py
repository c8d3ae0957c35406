"""Checkpoints load as data only (weights_only=True) and round-trip through the one loader."""

from __future__ import annotations

import collections

import pytest
import torch

from egoflow.checkpoint import load_checkpoint, save_checkpoint
from egoflow.errors import InputError


def test_round_trip_strips_ddp_and_compile_prefixes(tmp_path):
    model = torch.nn.Linear(3, 2)
    state = {
        "model": {f"module._orig_mod.{k}": v for k, v in model.state_dict().items()},
        "step": 7,
        "config": {"lr": 1e-3, "layers": [1, 2]},
    }
    save_checkpoint(state, tmp_path / "ckpt" / "last.pt")
    loaded = load_checkpoint(tmp_path / "ckpt" / "last.pt")
    assert loaded["step"] == 7 and loaded["config"] == {"lr": 1e-3, "layers": [1, 2]}
    fresh = torch.nn.Linear(3, 2)
    fresh.load_state_dict(loaded["model"])
    assert torch.equal(fresh.weight, model.weight)
    assert not list((tmp_path / "ckpt").glob(".*tmp-*")), "no temporary file left behind"


class Payload:
    """Stands in for an object a malicious pickle would smuggle in."""

    def __init__(self):
        self.ran = False


def test_refuses_objects_that_are_not_plain_data(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "extra": Payload()}, path)
    with pytest.raises(InputError, match="evil.pt.*refused to load"):
        load_checkpoint(path)


def test_missing_and_garbage_files_name_the_file(tmp_path):
    with pytest.raises(InputError, match="nope.pt: checkpoint not found"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")


def test_bare_state_dict_is_accepted(tmp_path):
    state = collections.OrderedDict(("module.w", torch.ones(2)) for _ in range(1))
    torch.save(state, tmp_path / "w.pt")
    assert list(load_checkpoint(tmp_path / "w.pt")) == ["w"]


def test_equal_states_give_equal_bytes_whatever_the_file_name(tmp_path):
    # Atomic writes go through a temp sibling named after the pid; the file must not remember it.
    state = {"model": {"w": torch.arange(4.0)}, "step": 3}
    save_checkpoint(state, tmp_path / "a.pt")
    save_checkpoint(state, tmp_path / "other-name.pt")
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "other-name.pt").read_bytes()
