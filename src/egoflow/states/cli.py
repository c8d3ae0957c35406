"""`egoflow states-predict VIDEO --model results/states/model.pt`: per-second object-state probabilities."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "states-predict",
        help="per-second initial-state / end-state / action probabilities of a video (ChangeIt model)",
        description="Decode VIDEO at 1 fps and write CSV rows category,second,p_initial,p_end,p_action with the "
        "trained object-state model (the train_states rule's results/states/model.pt).",
    )
    parser.add_argument("video", help="any video file")
    parser.add_argument("--model", required=True, help="results/states/model.pt")
    parser.add_argument("--category", default=None, help="one of the model's categories (default: all)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    parser.add_argument("--out", default="-", help="CSV file to write (default: stdout)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from egoflow.atomic import write_text
    from egoflow.states.inference import predict

    lines = ["category,second,p_initial,p_end,p_action"]
    for category, probs in predict(args.video, args.model, args.category, args.device).items():
        for second, values in enumerate(zip(probs["initial"], probs["end"], probs["action"], strict=True)):
            lines.append(f"{category},{second}," + ",".join(f"{v:.6f}" for v in values))
    text = "\n".join(lines) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        write_text(args.out, text)
    return 0
