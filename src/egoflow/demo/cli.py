"""`egoflow demo-world`: write the synthetic demo world (videos, sheet, every annotation format) to a folder."""

from __future__ import annotations

import argparse

from egoflow.demo.world import SIZES


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo-world",
        help="write the synthetic demo world (videos + annotations in every native format)",
        description="Render the procedural demo videos and write sheet.tsv, videos/ and annotations/ to --out. "
        "The same --size and --seed always give byte-identical annotations and identical decoded frames.",
    )
    parser.add_argument("--out", required=True, help="folder to write (created if missing)")
    parser.add_argument(
        "--size", choices=list(SIZES), default="tiny", help="tiny: tests; small: the demo; medium: benchmarks"
    )
    parser.add_argument("--seed", type=int, default=0, help="world seed (non-negative)")
    parser.add_argument("--threads", type=int, default=1, help="videos rendered in parallel")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from egoflow.demo import write_world

    plan = write_world(args.out, size=args.size, seed=args.seed, threads=args.threads)
    print(
        f"wrote {len(plan.videos)} videos and {len(plan.annotation_files())} annotation files to {args.out}"
    )
    return 0
