"""Generate one shard: cache lookups, backend calls, validation with bounded retries, error records, progress.

Attempt k of an item uses seed hash(seed, item id, k): answers do not depend on sharding or order, and a
resumed shard replays its cached attempts to the same outcome as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from egoflow.atomic import atomic_write
from egoflow.text.backends import Backend, LlamaCppConfig, Request, Response, make_backend
from egoflow.text.cache import ResponseCache, cache_key
from egoflow.text.narrations import Item, load_items, shard
from egoflow.text.prompts import Prompts
from egoflow.text.schema import answer_schema, grammar_from_schema, longest_answer, validate_answer


@dataclass
class GenerationConfig:
    seed: int = 0
    max_attempts: int = 3  # per item; attempts differ by seed only
    max_failure_rate: float = 0.05  # a shard whose failed fraction exceeds this fails its rule
    clip_chars: int = 200  # longest Before/After/CF string the grammar allows
    summary_chars: int = 400  # longest counterfactual summary
    max_tokens: int = 0  # 0 = the grammar's bound (an answer can never be cut off)


class GenerationFailed(RuntimeError):
    pass


@dataclass
class Stats:
    items: int = 0
    ok: int = 0
    failed: int = 0
    requests_generated: int = 0
    requests_cached: int = 0
    tokens_generated: int = 0
    prompt_tokens: int = 0
    seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        rate = self.tokens_generated / self.seconds if self.seconds else 0.0
        return (
            f"{self.items} items: {self.ok} ok, {self.failed} failed; "
            f"{self.requests_generated} requests generated ({self.tokens_generated} tokens, {rate:.1f} tokens/s), "
            f"{self.requests_cached} from cache; {self.seconds:.1f} s"
        )


def attempt_seed(seed: int, item_id: str, attempt: int) -> int:
    digest = hashlib.sha256(f"{seed}:{item_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def generate_items(
    items: list[Item],
    backend: Backend,
    prompts: Prompts,
    cache: ResponseCache,
    config: GenerationConfig,
    *,
    desc: str = "text",
) -> tuple[list[dict], Stats]:
    """One record per item, in order: id, kind, key, status, attempts, reason, answer, responses."""
    stats = Stats(items=len(items))
    identity = backend.identity()
    start = time.perf_counter()
    records = []
    progress = tqdm(items, desc=desc, unit="item", file=sys.stderr, mininterval=1.0, dynamic_ncols=False)
    for item in progress:
        chars = config.clip_chars if item.kind == "clip" else config.summary_chars
        schema = answer_schema(item.kind, chars)
        grammar = grammar_from_schema(schema)
        max_tokens = config.max_tokens or longest_answer(schema) + 8  # + end-of-turn tokens
        messages = prompts.messages(item)
        record = {"id": item.id, "kind": item.kind, "key": item.key, "status": "failed", "attempts": 0}
        responses, reason, answer = [], None, None
        for attempt in range(config.max_attempts):
            seed = attempt_seed(config.seed, item.id, attempt)
            key = cache_key(identity, messages, grammar, max_tokens, seed)
            response = cache.get(key) if backend.cacheable else None
            if response is None:
                try:
                    response = backend.generate(Request(item, messages, grammar, max_tokens, seed))
                except (ValueError, RuntimeError) as error:  # e.g. prompt longer than the context window
                    responses.append({"text": "", "completion_tokens": 0, "finish_reason": "error"})
                    reason = f"backend error: {error}"
                    break
                if backend.cacheable:
                    cache.put(key, response)
                stats.requests_generated += 1
                stats.tokens_generated += response.completion_tokens
                stats.prompt_tokens += response.prompt_tokens
            else:
                stats.requests_cached += 1
            responses.append(_raw(response))
            answer, reason = validate_answer(item.kind, response.text, item.key)
            if response.finish_reason == "length" and answer is None:
                reason = f"answer cut off at max_tokens={max_tokens}: {reason}"
            if answer is not None:
                break
        record.update(attempts=len(responses), responses=responses, answer=answer, reason=reason)
        record["status"] = "ok" if answer is not None else "failed"
        stats.ok += answer is not None
        stats.failed += answer is None
        if answer is None:
            stats.reasons[reason.split(":")[0]] += 1
        records.append(record)
        elapsed = time.perf_counter() - start
        progress.set_postfix_str(f"{stats.tokens_generated / max(elapsed, 1e-9):.1f} tok/s", refresh=False)
    progress.close()
    stats.seconds = time.perf_counter() - start
    return records, stats


def _raw(response: Response) -> dict:
    return {
        "text": response.text,
        "completion_tokens": response.completion_tokens,
        "finish_reason": response.finish_reason,
    }


def write_shard(records: list[dict], out: str | Path, errors: str | Path) -> None:
    """All records to `out`, the failed ones (with their reasons and raw answers) to `errors`; JSON lines."""
    with atomic_write(out) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    with atomic_write(errors) as handle:
        for record in records:
            if record["status"] != "ok":
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def check_failure_rate(stats: Stats, config: GenerationConfig, errors: str | Path) -> None:
    rate = stats.failed / stats.items if stats.items else 0.0
    if rate > config.max_failure_rate:
        reasons = "; ".join(f"{count}x {reason}" for reason, count in stats.reasons.most_common(5))
        raise GenerationFailed(
            f"{stats.failed} of {stats.items} items ({rate:.1%}) failed after up to {config.max_attempts} "
            f"attempts, above text.max_failure_rate = {config.max_failure_rate:.1%}. Reasons: {reasons}. "
            f"Each failure is listed in {errors} (and above in this log). Raise text.max_attempts, fix the "
            f"prompt or the model, or raise text.max_failure_rate."
        )


def run_shard(
    items_path: str | Path,
    kind: str,
    index: int,
    count: int,
    *,
    prompts: str | Path,
    cache: str | Path,
    out: str | Path,
    errors: str | Path,
    backend: str = "auto",
    llama_cpp: LlamaCppConfig | None = None,
    config: GenerationConfig | None = None,
    threads: int = 1,
) -> Stats:
    """Generate shard `index` of `count` of the `kind` items in `items_path`; write `out` and `errors`."""
    config = config or GenerationConfig()
    items = shard(load_items(items_path, kind), index, count)
    engine = make_backend(backend, llama_cpp, threads)
    store = ResponseCache(cache)
    print(
        f"text {kind} shard {index}/{count}: {len(items)} items, backend {engine.identity()}", file=sys.stderr
    )
    try:
        records, stats = generate_items(
            items, engine, Prompts.load(prompts), store, config, desc=f"{kind} {index}"
        )
    finally:
        store.close()
        engine.close()
    write_shard(records, out, errors)
    print(stats.summary(), file=sys.stderr)
    for record in records:
        if record["status"] != "ok":
            print(f"FAILED {record['id']} {record['key'][:80]!r}: {record['reason']}", file=sys.stderr)
    check_failure_rate(stats, config, errors)
    return stats


def run_rule_shard(kind: str, shard_index, inputs, outputs, params, text_config: dict, threads: int) -> Stats:
    """`run_shard` for the clip_states / summary_cf rules: their inputs (queue, prompts), outputs (records,
    errors) and params (shards, backend, llama_cpp, generation: what changes the answers), plus the run
    settings of the text config (cache, n_ctx, n_batch, n_gpu_layers), which change nothing but speed."""
    llama_cpp = params.llama_cpp  # None when the template backend answers
    if llama_cpp:
        run = {k: text_config["llama_cpp"][k] for k in ("n_ctx", "n_batch", "n_gpu_layers")}
        llama_cpp = LlamaCppConfig(**llama_cpp, **run)
    return run_shard(
        inputs.queue,
        kind,
        int(shard_index),
        params.shards,
        prompts=Path(inputs.prompts[0]).parent,
        cache=text_config["cache"],
        out=outputs.records,
        errors=outputs.errors,
        backend=params.backend,
        llama_cpp=llama_cpp,
        config=GenerationConfig(**params.generation),
        threads=threads,
    )
