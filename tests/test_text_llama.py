"""Text stage with the llama_cpp backend for real, on a tiny random-weight llama GGUF (tests/tiny_gguf.py):
grammar-constrained answers always parse, retries and error records, a cached rerun generates zero tokens,
and a shard killed with SIGKILL resumes to exactly the outputs of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

llama_cpp = pytest.importorskip(
    "llama_cpp", reason="LOUD SKIP: llama-cpp-python is not installed (pip install 'egoflow[llm]')"
)

from egoflow.text.backends import LlamaCppBackend, LlamaCppConfig  # noqa: E402
from egoflow.text.cache import ResponseCache  # noqa: E402
from egoflow.text.generate import GenerationConfig, GenerationFailed, generate_items, run_shard  # noqa: E402
from egoflow.text.narrations import load_items  # noqa: E402
from egoflow.text.prompts import Prompts  # noqa: E402
from egoflow.text.schema import CLIP_FIELDS, SUMMARY_FIELDS  # noqa: E402
from tests.text_fixtures import NARRATIONS, write_sets  # noqa: E402
from tests.tiny_gguf import write_tiny_llama  # noqa: E402

PROMPTS = "config/prompts"
FAST = {"clip_chars": 24, "summary_chars": 24}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


@pytest.fixture
def sets(tmp_path):
    return write_sets(tmp_path)


def shard_args(tmp_path, model, queue, kind, name, **generation):
    return dict(
        prompts=PROMPTS,
        cache=tmp_path / "cache.sqlite",
        out=tmp_path / f"{name}.jsonl",
        errors=tmp_path / f"{name}.errors.jsonl",
        backend="llama_cpp",
        llama_cpp=LlamaCppConfig(model=str(model), n_ctx=2048),
        config=GenerationConfig(**{**FAST, **generation}),
    )


def test_grammar_constrained_answers_always_parse(tmp_path, model, sets):
    narrations, summaries = sets
    items = load_items(narrations, "clip") + load_items(summaries, "order") + load_items(summaries, "key")
    backend = LlamaCppBackend(LlamaCppConfig(model=str(model), n_ctx=2048))
    cache = ResponseCache(tmp_path / "cache.sqlite")
    records, stats = generate_items(items, backend, Prompts.load(PROMPTS), cache, GenerationConfig(**FAST))
    backend.close()
    assert stats.tokens_generated > 0 and stats.requests_generated == len(items)
    for record in records:
        fields = CLIP_FIELDS if record["kind"] == "clip" else SUMMARY_FIELDS
        for response in record["responses"]:
            assert response["finish_reason"] == "stop"
            answer = json.loads(response["text"])  # never a parse error under the grammar
            assert list(answer) == list(fields)
            assert all(0 < len(value) <= 24 for value in answer.values())
    assert all(r["status"] == "ok" for r in records)


def test_rerun_with_same_settings_generates_zero_tokens(tmp_path, model, sets, capfd):
    narrations, _ = sets
    first = run_shard(narrations, "clip", 0, 2, **shard_args(tmp_path, model, narrations, "clip", "a"))
    assert first.tokens_generated > 0 and first.requests_cached == 0
    assert "tok/s" in capfd.readouterr().err  # the progress bar (items/s, ETA, tokens/s) goes to stderr
    again = run_shard(narrations, "clip", 0, 2, **shard_args(tmp_path, model, narrations, "clip", "b"))
    assert again.tokens_generated == 0 and again.requests_generated == 0
    assert again.requests_cached == first.requests_generated
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    # Another sampling setting is another cache key: it generates again.
    args = shard_args(tmp_path, model, narrations, "clip", "c")
    args["llama_cpp"].temperature = 0.9
    assert run_shard(narrations, "clip", 0, 2, **args).tokens_generated > 0


def test_cut_off_answers_are_retried_recorded_and_fail_the_shard(tmp_path, model, sets):
    narrations, _ = sets
    args = shard_args(tmp_path, model, narrations, "clip", "cut", max_tokens=6, max_attempts=2)
    with pytest.raises(GenerationFailed, match=r"10 of 10 items \(100.0%\) failed .* text.max_failure_rate"):
        run_shard(narrations, "clip", 0, 1, **args)
    errors = [json.loads(line) for line in args["errors"].read_text().splitlines()]
    assert len(errors) == len(NARRATIONS)
    for error in errors:
        assert error["attempts"] == 2 and error["status"] == "failed"
        assert error["reason"].startswith("answer cut off at max_tokens=6: not valid JSON")
        assert [r["finish_reason"] for r in error["responses"]] == ["length", "length"]
    # A threshold of 100 % accepts the shard; the failures stay recorded.
    args = shard_args(tmp_path, model, narrations, "clip", "cut2", max_tokens=6, max_attempts=2)
    args["config"].max_failure_rate = 1.0
    assert run_shard(narrations, "clip", 0, 1, **args).failed == len(NARRATIONS)


def generate_command(tmp_path, model, narrations, name, cache):
    return [
        sys.executable,
        "-m",
        "egoflow.cli",
        "text",
        "generate",
        str(narrations),
        "--kind=clip",
        f"--cache={cache}",
        f"--out={tmp_path / name}.jsonl",
        f"--errors={tmp_path / name}.errors.jsonl",
        "--backend=llama_cpp",
        f"--llama-cpp={json.dumps({'model': str(model), 'n_ctx': 2048})}",
        f"--generation={json.dumps({'clip_chars': 64, 'seed': 7})}",
    ]


def cached(path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


def test_sigkill_mid_shard_resumes_to_the_uninterrupted_outputs(tmp_path, model, sets):
    narrations, _ = sets
    reference = subprocess.run(
        generate_command(tmp_path, model, narrations, "reference", tmp_path / "ref.sqlite"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert reference.returncode == 0, reference.stderr[-3000:]

    cache = tmp_path / "killed.sqlite"
    command = generate_command(tmp_path, model, narrations, "resumed", cache)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while cached(cache) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = cached(cache)
    assert 3 <= done < len(NARRATIONS), f"kill landed outside the shard ({done} of {len(NARRATIONS)} cached)"
    assert not (tmp_path / "resumed.jsonl").exists()  # no half-written output

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{done} from cache" in resumed.stderr
    assert (tmp_path / "resumed.jsonl").read_bytes() == (tmp_path / "reference.jsonl").read_bytes()
