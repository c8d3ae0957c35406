"""`egoflow text ...`: the text stage outside Snakemake (item sets, one shard, merge)."""

from __future__ import annotations

import argparse
import json

from egoflow.text.backends import LlamaCppConfig
from egoflow.text.generate import GenerationConfig, run_shard
from egoflow.text.merge import merge_text
from egoflow.text.narrations import KINDS, write_narration_set, write_summary_set


def register(subparsers) -> None:
    parser = subparsers.add_parser("text", help="state changes and counterfactuals (text stage)")
    commands = parser.add_subparsers(dest="text_command", required=True, metavar="STEP")

    p = commands.add_parser("narrations", help="unique narrations of an EgoClip TSV -> narrations.jsonl")
    p.add_argument("egoclip")
    p.add_argument("out")
    p.set_defaults(func=lambda a: print(write_narration_set(a.egoclip, a.out), "narrations") or 0)

    p = commands.add_parser("summaries", help="summary windows -> summaries.jsonl")
    p.add_argument("egosummary")
    p.add_argument("hierarchy")
    p.add_argument("out")
    p.set_defaults(
        func=lambda a: print(write_summary_set(a.egosummary, a.hierarchy, a.out), "summaries") or 0
    )

    p = commands.add_parser("generate", help="generate one shard of clip / order / key items")
    p.add_argument("queue", help="narrations.jsonl (kind clip) or summaries.jsonl (order, key)")
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--shard", type=int, default=0)
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--prompts", default="config/prompts", help="folder of prompt files")
    p.add_argument("--cache", required=True, help="SQLite response cache")
    p.add_argument("--out", required=True)
    p.add_argument("--errors", required=True)
    p.add_argument("--backend", choices=["auto", "template", "llama_cpp"], default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--llama-cpp", default="{}", help='JSON of LlamaCppConfig fields, e.g. {"model": "m.gguf"}'
    )
    p.add_argument("--generation", default="{}", help='JSON of GenerationConfig fields, e.g. {"seed": 1}')
    p.set_defaults(func=_generate)

    p = commands.add_parser("merge", help="shard records -> states.json, summary_cf.json, generations.tsv")
    p.add_argument("--clip", nargs="*", default=[])
    p.add_argument("--summary", nargs="*", default=[])
    p.add_argument("--states", required=True)
    p.add_argument("--summary-cf", required=True)
    p.add_argument("--table", required=True)
    p.set_defaults(func=_merge)


def _generate(args: argparse.Namespace) -> int:
    llama = json.loads(args.llama_cpp)
    run_shard(
        args.queue,
        args.kind,
        args.shard,
        args.shards,
        prompts=args.prompts,
        cache=args.cache,
        out=args.out,
        errors=args.errors,
        backend=args.backend,
        llama_cpp=LlamaCppConfig(**llama) if llama else None,
        config=GenerationConfig(**json.loads(args.generation)),
        threads=args.threads,
    )
    return 0


def _merge(args: argparse.Namespace) -> int:
    merge_text(args.clip, args.summary, states=args.states, summary_cf=args.summary_cf, table=args.table)
    return 0
