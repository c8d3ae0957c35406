"""CARL: the sequence contrastive loss on a hand-computed 2-view case, the model's shapes, the views, and a
SIGKILLed training that reruns to bit-identical weights."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from egoflow.checkpoint import load_checkpoint
from egoflow.framewise.views import CarlDataset, ViewConfig, time_augment
from egoflow.losses import sequence_contrastive_loss
from egoflow.models.carl import Carl, CarlConfig

TINY = {"cnn_channels": 4, "hidden": 16, "d_model": 16, "heads": 2, "d_ff": 32, "layers": 1}


def test_scl_two_view_hand_case():
    # One video, T = 2, both views the frames s = (0, 3) with embeddings e1, e2 (orthonormal).
    # Prior row for s_i = 0 over s_j = (0, 3): exp(-d²/(2·10)) = (1, exp(-0.45)) -> p = (1, 0.6376)/1.6376.
    # Prediction: logits = (1, 0)/0.1 = (10, 0) -> q = (1, e^-10)/(1 + e^-10).
    # KL row = Σ p (ln p − ln(q + 1e-6)); all 4 rows (2 per view) are the same by symmetry; ÷ 4 valid frames.
    p = np.array([1.0, math.exp(-0.45)])
    p /= p.sum()
    q = np.array([1.0, math.exp(-10)]) / (1 + math.exp(-10))
    row = float((p * (np.log(p) - np.log(q + 1e-6))).sum())  # ≈ 0.6107·0.4930 ... ≈ 3.50
    z = torch.eye(2)[None]  # [1, T=2, D=2]
    steps = torch.tensor([[0, 3]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    got = sequence_contrastive_loss(z, z, steps, steps, mask, mask, variance=10.0, temperature=0.1)
    assert float(got) == pytest.approx(4 * row / 4, rel=1e-5)


def test_scl_masked_frame_drops_out_of_rows_and_normaliser():
    # View 2's second frame invalid: its rows and columns vanish. Row of view-1 frame 0: prior over (0, 3) is
    # (1, exp(-1e12/20) = 0); q's normaliser weights the invalid column by 1e-6:
    # q_00 = e^10 / (e^10 + 1e-6·e^0) ≈ 1 -> KL ≈ -ln(1 + 1e-6) ≈ -1e-6 ≈ 0; likewise every valid row of the
    # other directions is a one-hot prior on the aligned frame. Frame 1 of view 1 (s=3) sees only s=0 of view 2:
    # prior 1 there, q = e^0 / (e^0 + 1e-6·e^10) -> KL = -ln(q + 1e-6).
    z = torch.eye(2)[None]
    steps = torch.tensor([[0, 3]])
    m1, m2 = torch.tensor([[True, True]]), torch.tensor([[True, False]])
    got = float(sequence_contrastive_loss(z, z, steps, steps, m1, m2))
    q10 = 1.0 / (1.0 + 1e-6 * math.exp(10))
    q00 = math.exp(10) / (math.exp(10) + 1e-6)
    # rows: view1 frame0 (-ln(q00+1e-6)), view1 frame1 (-ln(q10+1e-6)), view2 frame0 over view1 (s=0, s=3):
    # prior (1/(1+e^-0.45), e^-0.45/(1+e^-0.45)) against q = softmax(10, 0): the hand row of the first test.
    p = np.array([1.0, math.exp(-0.45)])
    p /= p.sum()
    q = np.array([1.0, math.exp(-10)]) / (1 + math.exp(-10))
    row = float((p * (np.log(p) - np.log(q + 1e-6))).sum())
    want = (-math.log(q00 + 1e-6) - math.log(q10 + 1e-6) + row) / 3
    assert got == pytest.approx(want, rel=1e-5)


def test_carl_shapes_and_gradients():
    model = Carl(CarlConfig(**TINY, embedding=8, projection=8, num_frames=6))
    batch = {
        "frames": torch.randn(2, 2, 6, 3, 32, 32),
        "steps": torch.arange(6).expand(2, 2, 6),
        "mask": torch.ones(2, 2, 6, dtype=torch.bool),
    }
    loss = model(batch)["scl"]
    loss.backward()
    assert loss.ndim == 0 and all(p.grad is not None for p in model.transformer.parameters())
    # Any length at evaluation (positions interpolated to the training length).
    assert model.eval().encode(torch.randn(1, 11, 3, 32, 32)).shape == (1, 11, 8)


def test_resnet_backbone_trains_only_its_last_stage(tmp_path):
    from transformers import ResNetConfig, ResNetModel

    # A tiny random-weight ResNet saved locally (no downloads), loaded the way a real run loads ResNet-50.
    tiny = ResNetConfig(embedding_size=8, hidden_sizes=[8, 8, 8, 16], depths=[1, 1, 1, 1], layer_type="basic")
    ResNetModel(tiny).save_pretrained(tmp_path / "resnet")
    rest = {k: v for k, v in TINY.items() if k != "cnn_channels"}
    model = Carl(CarlConfig(backbone="resnet50", backbone_path=str(tmp_path / "resnet"), **rest))
    trainable = {n for n, p in model.backbone.resnet.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("encoder.stages.3.") for n in trainable)
    frames = torch.randn(1, 2, 4, 3, 32, 32)
    batch = {
        "frames": frames,
        "steps": torch.arange(4).expand(1, 2, 4),
        "mask": torch.ones(1, 2, 4, dtype=bool),
    }
    model(batch)["scl"].backward()
    assert model.backbone.resnet.embedder.embedder.convolution.weight.grad is None


def test_time_augment_masks_the_tail_and_views_are_seeded():
    cfg = ViewConfig(num_frames=8, size=16)
    steps, mask, _ = time_augment(5, cfg, np.random.default_rng(0))
    # L = 5 < T = 8: five sorted frames, three pads at index L = 5 (masked).
    assert mask.sum() <= 5 and (steps[~mask] >= 5).all() and (steps[mask] < 5).all()
    assert (np.diff(steps[mask]) > 0).all()  # valid frames: sorted, without repeats
    videos = [np.random.default_rng(k).integers(0, 255, (12, 20, 20, 3), dtype=np.uint8) for k in range(2)]
    data = CarlDataset(lambda i: videos[i], [12, 12], cfg, seed=3)
    a, b = data[1], data[1]
    assert torch.equal(a["frames"], b["frames"]) and a["frames"].shape == (2, 8, 3, 16, 16)
    data.set_epoch(1)
    assert not torch.equal(data[1]["frames"], a["frames"])


def _spec(tmp, frames):
    settings = {
        "model": {**TINY, "embedding": 8, "projection": 8},
        "views": {"num_frames": 6, "size": 16},
        "train": {"max_steps": 12, "checkpoint_every": 3, "log_every": 1, "lr": 1e-3, "device": "cpu"},
        "batch_size": 2,
    }
    spec = {
        "frames": str(frames),
        "settings": settings,
        "run_dir": str(tmp),
        "model_out": str(tmp / "model.pt"),
    }
    path = tmp / "spec.json"
    tmp.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec))
    return path


def _run(spec, **kw):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "egoflow.framewise.carl", str(spec)]
    return subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.PIPE, text=True, **kw)


def test_sigkill_mid_training_then_rerun_is_bit_exact(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {f"video_{k}": rng.integers(0, 255, (10 + k, 20, 20, 3), dtype=np.uint8) for k in range(4)}
    arrays |= {f"label_{k}": np.zeros(10 + k, dtype=np.int64) for k in range(4)}
    frames = tmp_path / "frames.npz"
    np.savez(frames, names=np.array(["a", "b", "c", "d"]), **arrays)

    straight = _spec(tmp_path / "straight", frames)
    proc = _run(straight)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()

    killed = _spec(tmp_path / "killed", frames)
    proc = _run(killed)
    deadline = time.time() + 300
    while not list((tmp_path / "killed/checkpoints").glob("step-*.pt")):
        assert proc.poll() is None and time.time() < deadline, "training ended before its first checkpoint"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed/model.pt").exists()
    proc = _run(killed)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "resumed from" in err, err

    a = load_checkpoint(tmp_path / "straight/model.pt")["model"]
    b = load_checkpoint(tmp_path / "killed/model.pt")["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
