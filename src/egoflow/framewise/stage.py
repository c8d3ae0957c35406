"""The frame-wise stage's jobs as plain functions (the workflow scripts unpack Snakemake and call these)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from egoflow.annotations.gtea import read_gtea
from egoflow.atomic import write_text
from egoflow.devices import pick_device
from egoflow.evaluate import write_result
from egoflow.framewise.features import (
    FrameFeatures,
    carl_encoder,
    pretrain_encoder,
    released_encoder,
    write_frame_features,
)
from egoflow.framewise.figures import alignment_svg, segmentation_svg
from egoflow.framewise.frames import FrameArchive
from egoflow.framewise.protocols import ProtocolConfig, evaluate_embeddings, random_like
from egoflow.framewise.segmentation import majority_baseline, run_segmentation
from egoflow.pretrain import config_hash, from_dict


def system_of(encoder: str) -> str:
    """The results table's system of an encoder: carl, counterfactual (a pretraining run) or released."""
    return "carl" if encoder == "carl" else encoder.split("-", 1)[0].replace("pretrain", "counterfactual")


def frame_features(
    frames: str,
    encoder: str,
    checkpoint: str,
    out: str,
    *,
    size: int,
    window: int,
    batch: int,
    device: str,
    text_features: str | None = None,
    released: dict | None = None,
) -> int:
    """encoder: carl | pretrain-<run> (needs text_features, for the model's text width) | released-<name>
    (released: that entry of framewise.released)."""
    dev = pick_device(device)
    if encoder == "carl":
        enc = carl_encoder(checkpoint, size, dev)
    elif encoder.startswith("released-"):
        if released is None:
            raise ValueError(f"encoder {encoder!r}: no framewise.released entry given")
        enc = released_encoder(checkpoint, released, dev, window, batch)
    elif encoder.startswith("pretrain-"):
        from egoflow.pretrain import text_dim_of

        enc = pretrain_encoder(checkpoint, text_dim_of(text_features), dev, window, batch)
    else:
        raise ValueError(f"unknown encoder {encoder!r}: carl | pretrain-<run> | released-<name>")
    archive = FrameArchive(frames)
    return write_frame_features(out, enc, archive.names, archive.frames, archive.labels, name=encoder)


def phase_evaluation(
    train: str, val: str, test: str, out: str, figure: str, *, encoder: str, checkpoint: str, protocol: dict
) -> dict:
    """The CARL / AE2 protocols on one encoder's features, with the random-embedding baseline beside them."""
    settings = dict(protocol)
    test_with_val = bool(settings.pop("test_with_val", True))
    cfg = from_dict(ProtocolConfig, settings)
    tr, te = FrameFeatures(train), FrameFeatures(test)
    test_e, test_y, test_ids = list(te.embeddings), list(te.labels), list(te.video_ids)
    if test_with_val:  # AE2: test = test ∪ val
        va = FrameFeatures(val)
        test_e, test_y, test_ids = test_e + va.embeddings, test_y + va.labels, test_ids + va.video_ids
    metrics = evaluate_embeddings(tr.embeddings, tr.labels, test_e, test_y, cfg)
    chance = evaluate_embeddings(
        random_like(tr.embeddings, 0), tr.labels, random_like(test_e, 1), test_y, cfg
    )
    split = "test+val" if test_with_val else "test"
    write_result(
        out,
        system=system_of(encoder),
        run=encoder,
        task="phases",
        split=split,
        checkpoint=checkpoint,
        result={
            "metrics": metrics,
            "baseline": {"random_embeddings": chance},
            "config_hash": config_hash(protocol),
        },
    )
    write_text(
        figure,
        alignment_svg(test_e[0], test_e[1], test_y[0], test_y[1], (test_ids[0], test_ids[1])),
    )
    return metrics


def segmentation(
    features: str,
    gtea: str,
    run_dir: str,
    out: str,
    predictions: str,
    figure: str,
    *,
    encoder: str,
    checkpoint: str,
    settings: dict,
    device: str,
) -> dict:
    run_dir_path = Path(run_dir)
    settings = json.loads(json.dumps(settings))
    settings.setdefault("train", {})["device"] = device
    scores_path = run_dir_path / "scores.json"
    result = run_segmentation(
        {
            "features": features,
            "gtea": gtea,
            "settings": settings,
            "run_dir": run_dir,
            "predictions_out": predictions,
            "scores_out": str(scores_path),
        }
    )
    store, data = FrameFeatures(features), read_gtea(gtea)
    names = dict(zip(data.mapping["id"], data.mapping["name"], strict=True))
    by_id = {v: k for k, v in enumerate(store.video_ids)}
    numbers = sorted(result["per_split"], key=int)
    baseline = [
        majority_baseline(
            [store.labels[by_id[v]] for v in data.splits[f"train.split{k}"]],
            [store.labels[by_id[v]] for v in data.splits[f"test.split{k}"]],
            names,
            ["background"],
        )
        for k in numbers
    ]
    chance = {m: float(np.mean([b[m] for b in baseline])) for m in baseline[0]}
    split = "mean of splits " + ",".join(numbers)
    write_result(
        out,
        system="asformer",
        run=encoder,
        task="gtea_segmentation",
        split=split,
        checkpoint=checkpoint,
        result={
            "metrics": result["metrics"],
            "per_split": result["per_split"],
            "baseline": {"majority": chance},
            "config_hash": config_hash(settings),
        },
    )
    preds = json.loads(Path(predictions).read_text())
    shown = list(preds)[:6]
    gts = {v: [names[int(i)] for i in store.labels[by_id[v]]] for v in shown}
    write_text(figure, segmentation_svg({v: (preds[v], gts[v]) for v in shown}))
    return result
