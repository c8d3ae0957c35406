"""Temporal action segmentation: ASFormer on frame features, GTEA layout (`egoflow.annotations.gtea`), trained
through the one loop per split, scored with MS-TCN's evaluation; `splits=[0]` means every split, averaged.

`python -m egoflow.framewise.segmentation SPEC.json` with SPEC {"features": HDF5 of egoflow.framewise.features
(labels = GTEA action ids), "gtea": root, "settings": {"model": AsformerConfig fields, "train": TrainConfig
fields, "splits": [..], "sample_rate": int}, "run_dir", "predictions_out", "scores_out"}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from egoflow.annotations.gtea import read_gtea
from egoflow.atomic import write_text
from egoflow.framewise.features import FrameFeatures
from egoflow.metrics import segmentation_scores
from egoflow.models.asformer import Asformer, AsformerConfig
from egoflow.pretrain import config_hash, from_dict
from egoflow.train import Objective, TrainConfig, train


class SegmentationDataset(torch.utils.data.Dataset):
    def __init__(self, features: list[np.ndarray], labels: list[np.ndarray], sample_rate: int = 1):
        self.features = [np.asarray(f, dtype=np.float32)[::sample_rate] for f in features]
        self.labels = [np.asarray(y, dtype=np.int64)[::sample_rate] for y in labels]

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict:
        return {
            "features": torch.from_numpy(self.features[index]).T,
            "labels": torch.from_numpy(self.labels[index]),
        }


def collate(items: list[dict]) -> dict:
    """Pad to the longest video: features [B, D, T], labels [B, T] (-100 padding), mask [B, T]."""
    t = max(i["labels"].shape[0] for i in items)
    d = items[0]["features"].shape[0]
    feats = torch.zeros(len(items), d, t)
    labels = torch.full((len(items), t), -100, dtype=torch.long)
    mask = torch.zeros(len(items), t)
    for b, item in enumerate(items):
        n = item["labels"].shape[0]
        feats[b, :, :n], labels[b, :n], mask[b, :n] = item["features"], item["labels"], 1.0
    return {"features": feats, "labels": labels, "mask": mask}


def split_numbers(splits: list[str]) -> list[int]:
    return sorted({int(s.rsplit("split", 1)[1]) for s in splits if "split" in s})


def run_segmentation(spec: dict) -> dict:
    settings = spec["settings"]
    store = FrameFeatures(spec["features"])
    gtea = read_gtea(spec["gtea"])
    by_id = {v: k for k, v in enumerate(store.video_ids)}
    names = dict(zip(gtea.mapping["id"], gtea.mapping["name"], strict=True))
    background = [names[i] for i in names if names[i] == "background"] or ["background"]
    rate = int(settings.get("sample_rate", 1))
    wanted = [int(s) for s in settings.get("splits", [0])]
    numbers = split_numbers(list(gtea.splits)) if wanted == [0] else wanted
    cfg = from_dict(TrainConfig, settings.get("train"))
    per_split, predictions = {}, {}
    for k in numbers:
        train_ids, test_ids = gtea.splits[f"train.split{k}"], gtea.splits[f"test.split{k}"]
        missing = [v for v in train_ids + test_ids if v not in by_id]
        if missing:
            raise ValueError(f"{spec['features']}: no frame features for {missing[:3]} (split {k})")
        data = SegmentationDataset(
            [store.embeddings[by_id[v]] for v in train_ids], [store.labels[by_id[v]] for v in train_ids], rate
        )
        model_cfg = {"input_dim": int(store.embeddings[0].shape[1]), "num_classes": len(names)}
        model_cfg |= settings.get("model") or {}
        torch.manual_seed(cfg.seed)
        model = Asformer(from_dict(AsformerConfig, model_cfg))
        run_config = {
            "settings": settings,
            "config_hash": config_hash(settings),
            "system": "asformer",
            "split": k,
        }
        # A small world may have fewer training videos than the batch: a batch is then all of them.
        batch = min(int(settings.get("batch_size", 1)), len(data))
        objective = Objective("segmentation", data, batch, collate=collate)
        run_dir = Path(spec["run_dir"]) / f"split{k}"
        train(model, [objective], cfg, run_dir, run_dir / "model.pt", run_config=run_config)
        model.eval()
        preds, gts = [], []
        for v in test_ids:
            x = torch.from_numpy(np.asarray(store.embeddings[by_id[v]], dtype=np.float32)[::rate]).T
            p = model.cpu().predict(x).numpy()
            full = np.repeat(p, rate)[: len(store.labels[by_id[v]])]  # back to the label rate
            preds.append([names[int(i)] for i in full])
            gts.append([names[int(i)] for i in store.labels[by_id[v]]])
            predictions[v] = preds[-1]
        per_split[k] = segmentation_scores(preds, gts, bg_class=background)
        per_split[k]["n_test_videos"] = float(len(test_ids))
    mean = {m: float(np.mean([s[m] for s in per_split.values()])) for m in next(iter(per_split.values()))}
    result = {"metrics": mean, "per_split": {str(k): v for k, v in per_split.items()}}
    write_text(spec["predictions_out"], json.dumps(predictions) + "\n")
    write_text(spec["scores_out"], json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


def majority_baseline(train_labels: list[np.ndarray], test_labels: list[np.ndarray], names: dict, bg) -> dict:
    """The chance baseline: every frame gets the most frequent training label."""
    values, counts = np.unique(np.concatenate(train_labels), return_counts=True)
    top = names[int(values[counts.argmax()])]
    preds = [[top] * len(y) for y in test_labels]
    return segmentation_scores(preds, [[names[int(i)] for i in y] for y in test_labels], bg_class=bg)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m egoflow.framewise.segmentation", description=__doc__)
    parser.add_argument("spec", help="JSON spec (see the module docstring)")
    args = parser.parse_args(argv)
    run_segmentation(json.loads(Path(args.spec).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
