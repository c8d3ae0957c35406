"""ASFormer: shapes, the per-stage loss (CE + 0.15 · truncated MSE), padding masks, and that it fits a toy task."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from egoflow.framewise.segmentation import SegmentationDataset, collate
from egoflow.models.asformer import Asformer, AsformerConfig


def tiny(**kw):
    return AsformerConfig(input_dim=6, num_classes=3, layers=2, maps=8, decoders=2, channel_mask=0.0, **kw)


def test_stages_shapes_and_loss_terms():
    torch.manual_seed(0)
    model = Asformer(tiny()).eval()
    x = torch.randn(2, 6, 19)
    outs = model.stages(x, torch.ones(2, 19))
    assert len(outs) == 3 and all(o.shape == (2, 3, 19) for o in outs)  # 1 encoder + 2 decoders
    labels = torch.randint(0, 3, (2, 19))
    losses = model({"features": x, "labels": labels, "mask": torch.ones(2, 19)})
    # CE summed over stages, computed by hand.
    want = sum(F.cross_entropy(o, labels) for o in outs)
    assert torch.allclose(losses["ce"], want, atol=1e-5)
    # Smoothing: 0.15 · Σ_stages mean(clamp((Δ log p)², 0, 16)).
    smooth = sum(
        F.mse_loss(F.log_softmax(o, 1)[:, :, 1:], F.log_softmax(o, 1)[:, :, :-1], reduction="none")
        .clamp(0, 16)
        .mean()
        for o in outs
    )
    assert torch.allclose(losses["smooth"], 0.15 * smooth, atol=1e-5)


def test_collate_pads_with_ignored_labels_and_a_mask():
    torch.manual_seed(0)
    model = Asformer(tiny()).eval()
    a, b = torch.randn(6, 11), torch.randn(6, 17)
    batch = collate(
        [
            {"features": a, "labels": torch.zeros(11, dtype=torch.long)},
            {"features": b, "labels": torch.zeros(17, dtype=torch.long)},
        ]
    )
    assert batch["labels"][0, 11:].eq(-100).all() and batch["mask"][0].sum() == 11
    assert torch.equal(batch["features"][0, :, :11], a) and batch["features"][0, :, 11:].eq(0).all()
    # Padded frames output 0 logits (masked) and carry no loss (label -100); instance norm still sees them,
    # as upstream (which trains with batch size 1), so batches of one video are the exact setting.
    out = model.stages(batch["features"], batch["mask"])[-1]
    assert out[0, :, 11:].eq(0).all() and torch.isfinite(model(batch)["ce"])


def test_fits_a_toy_segmentation():
    # Class = which of 3 feature channels is on; 25 steps of Adam fit the training video almost perfectly.
    torch.manual_seed(0)
    y = torch.tensor([0] * 10 + [1] * 15 + [2] * 10)
    x = torch.eye(3)[y].T.repeat(2, 1) + 0.1 * torch.randn(6, 35)
    data = SegmentationDataset([x.T.numpy()], [y.numpy()])
    batch = collate([data[0]])
    model = Asformer(tiny())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only contend on a busy machine
    try:
        steps(model, opt, batch)
    finally:
        torch.set_num_threads(threads)
    pred = model.eval().predict(x)
    assert (pred == y).float().mean() > 0.9


def steps(model, opt, batch):
    for _ in range(25):
        loss = sum(model(batch).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
