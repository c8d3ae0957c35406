"""`egoflow <command>`: the command-line entry points. Each command lives next to the code it runs.

A module listed in COMMANDS defines `register(subparsers)`, which adds its parser and sets `func`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = [
    "egoflow.demo.cli",
    "egoflow.text.cli",
    "egoflow.features.cli",
    "egoflow.states.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="egoflow",
        description="Procedure-aware egocentric video representations: data preparation, training, evaluation.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
