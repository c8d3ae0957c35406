"""Backends turn one request (chat messages + answer grammar + seed) into one raw answer.

One interface, `Backend`: a new backend (an OpenAI-compatible server, a transformers model on GPU) is one class
with `identity()` (everything that changes its answers, for the cache key) and `generate()`.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path

from egoflow.text import lexicon
from egoflow.text.narrations import Item


@dataclass(frozen=True)
class Request:
    item: Item
    messages: list[dict[str, str]]
    grammar: str  # GBNF forcing the answer schema
    max_tokens: int
    seed: int


@dataclass(frozen=True)
class Response:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" | "length"


class Backend(ABC):
    name: str
    cacheable = True  # answers go through the response cache (False for backends cheaper than a lookup)

    @abstractmethod
    def identity(self) -> dict:
        """JSON-able description of everything that determines the answers (model, sampling)."""

    @abstractmethod
    def generate(self, request: Request) -> Response: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class TemplateBackend(Backend):
    """Verb-lexicon rules (lexicon.py); ignores the prompt and the seed."""

    name = "template"
    cacheable = False  # deterministic and ~100x faster than a SQLite commit per answer
    VERSION = 1  # bump when the lexicon changes, so cached answers are not reused

    def identity(self) -> dict:
        return {"backend": self.name, "version": self.VERSION}

    def generate(self, request: Request) -> Response:
        item = request.item
        if item.kind == "clip":
            answer = lexicon.clip_answer(item.key)
        else:
            answer = lexicon.summary_answer(item.kind, item.key, item.narrations)
        return Response(text=json.dumps(answer, ensure_ascii=False))


@dataclass
class LlamaCppConfig:
    model: str  # GGUF file
    n_ctx: int = 4096  # context window: prompt (~400 tokens clip, ~1500 summary) + the answer bound
    n_gpu_layers: int = 0  # layers offloaded to the GPU; -1 = all
    n_batch: int = 512  # prompt-processing batch size
    n_threads: int = 0  # 0 = the job's threads
    temperature: float = 0.6  # upstream Llama-3 defaults: temperature 0.6, top_p 0.9
    top_p: float = 0.9
    top_k: int = 0  # 0 = off (the upstream sampler has no top-k)
    min_p: float = 0.0  # 0 = off (llama-cpp-python defaults to 0.05; upstream has none)
    chat_format: str = ""  # "" = the chat template stored in the GGUF (llama-2 style if it has none)


def model_fingerprint(path: str | Path) -> str:
    """Name, size and a hash of the first and last 4 MiB: identifies a GGUF without reading gigabytes."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(4 << 20))
        handle.seek(max(0, size - (4 << 20)))
        digest.update(handle.read())
    return f"{path.name}:{size}:{digest.hexdigest()[:16]}"


class LlamaCppBackend(Backend):
    """llama-cpp-python on a local GGUF; answers constrained by the request's grammar."""

    name = "llama_cpp"

    def __init__(self, config: LlamaCppConfig, threads: int = 1):
        from llama_cpp import Llama  # optional dependency: `pip install egoflow[llm]`

        self.config = config
        self.fingerprint = model_fingerprint(config.model)
        self.llm = Llama(
            model_path=str(config.model),
            n_ctx=config.n_ctx,
            n_gpu_layers=config.n_gpu_layers,
            n_batch=config.n_batch,
            n_threads=config.n_threads or threads,
            chat_format=config.chat_format or None,
            verbose=False,
        )
        self._grammars: dict[str, object] = {}

    def identity(self) -> dict:
        sampling = {
            k: v for k, v in asdict(self.config).items() if k in {"temperature", "top_p", "top_k", "min_p"}
        }
        return {
            "backend": self.name,
            "model": self.fingerprint,
            "chat_format": self.config.chat_format,
            **sampling,
        }

    def grammar(self, text: str):
        from llama_cpp import LlamaGrammar

        if text not in self._grammars:
            self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
        return self._grammars[text]

    def generate(self, request: Request) -> Response:
        out = self.llm.create_chat_completion(
            messages=request.messages,
            grammar=self.grammar(request.grammar),
            temperature=self.config.temperature,
            top_p=self.config.top_p,
            top_k=self.config.top_k,
            min_p=self.config.min_p,
            max_tokens=request.max_tokens,
            seed=request.seed,
        )
        choice = out["choices"][0]
        return Response(
            text=choice["message"]["content"] or "",
            prompt_tokens=out["usage"]["prompt_tokens"],
            completion_tokens=out["usage"]["completion_tokens"],
            finish_reason=choice.get("finish_reason") or "stop",
        )

    def close(self) -> None:
        self.llm.close()


def make_backend(name: str, llama_cpp: LlamaCppConfig | None = None, threads: int = 1) -> Backend:
    """Backend by config name; "auto" is llama_cpp when a GGUF path is set, else template."""
    if name == "auto":
        name = "llama_cpp" if llama_cpp is not None and llama_cpp.model else "template"
    if name == "template":
        return TemplateBackend()
    if name == "llama_cpp":
        if llama_cpp is None or not llama_cpp.model:
            raise ValueError("text.backend is llama_cpp but text.llama_cpp.model (a GGUF path) is empty")
        if not os.path.isfile(llama_cpp.model):
            raise FileNotFoundError(f"text.llama_cpp.model: {llama_cpp.model} does not exist")
        return LlamaCppBackend(llama_cpp, threads)
    raise ValueError(f"unknown text backend {name!r} (expected auto, template or llama_cpp)")
