"""ASFormer: shapes, the per-stage loss (CE + 0.15 · truncated MSE), padding masks, and that it fits a toy task."""

from __future__ import annotations

import pytest
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


def write_gtea(root, videos: dict[str, list[str]], splits: dict[int, list[str]]) -> None:
    """The MS-TCN folder layout: mapping.txt, groundTruth/<v>.txt, splits/{train,test}.split<k>.bundle."""
    (root / "groundTruth").mkdir(parents=True)
    (root / "splits").mkdir()
    (root / "mapping.txt").write_text("0 background\n1 take\n2 pour\n")
    for v, labels in videos.items():
        (root / "groundTruth" / f"{v}.txt").write_text("".join(f"{a}\n" for a in labels))
    for k, test in splits.items():
        train = [v for v in videos if v not in test]
        (root / "splits" / f"train.split{k}.bundle").write_text("".join(f"{v}.txt\n" for v in train))
        (root / "splits" / f"test.split{k}.bundle").write_text("".join(f"{v}.txt\n" for v in test))


def test_split_0_runs_every_split_and_averages_them_as_upstream(tmp_path):
    import json

    import numpy as np

    from egoflow.framewise.features import write_frame_features
    from egoflow.framewise.segmentation import run_segmentation

    names = ["background", "take", "pour"]
    rng = np.random.default_rng(0)
    videos = {f"S{i}": [names[j] for j in rng.integers(0, 3, 3).repeat(4)] for i in range(6)}
    write_gtea(tmp_path / "gtea", videos, {1: ["S0", "S1"], 2: ["S2", "S3"], 3: ["S4", "S5"]})
    ids = list(videos)
    labels = [np.array([names.index(a) for a in videos[v]]) for v in ids]
    # features = one-hot labels + noise: any split can be scored, the numbers differ per split
    write_frame_features(
        tmp_path / "gtea.h5",
        lambda y: np.eye(3)[y] + rng.normal(0, 0.5, (len(y), 3)),
        ids,
        lambda k: labels[k],
        lambda k: labels[k],
        name="toy",
    )
    settings = {
        "model": {"layers": 1, "maps": 4, "decoders": 1, "channel_mask": 0.0},
        "batch_size": 4,
        "train": {"max_steps": 2, "lr": 1e-2, "checkpoint_every": 2, "log_every": 1, "device": "cpu"},
    }

    def run(splits, name):
        spec = {
            "features": str(tmp_path / "gtea.h5"),
            "gtea": str(tmp_path / "gtea"),
            "run_dir": str(tmp_path / name),
        }
        spec |= {
            "predictions_out": str(tmp_path / f"{name}.json"),
            "scores_out": str(tmp_path / f"{name}_s.json"),
        }
        return run_segmentation({**spec, "settings": {**settings, "splits": splits}})

    every = run([0], "all")
    assert sorted(every["per_split"]) == ["1", "2", "3"]  # split 0 = every split of splits/
    for metric, value in every["metrics"].items():  # upstream's --split 0: the mean of the per-split scores
        assert value == pytest.approx(np.mean([every["per_split"][k][metric] for k in "123"])), metric
    assert set(json.loads((tmp_path / "all.json").read_text())) == set(ids)  # every video predicted once
    one = run([2], "two")
    assert list(one["per_split"]) == ["2"] and one["metrics"] == pytest.approx(every["per_split"]["2"])
