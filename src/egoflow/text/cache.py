"""Persistent response cache (SQLite): a killed shard resumes, a rerun with the same settings generates nothing.

Keyed by a hash of everything that determines a response: backend identity (model, sampling), chat messages,
grammar, token limit and the per-attempt seed. Each response is committed as soon as it exists. SQLite in WAL
mode lets several shard jobs on one machine share the file; on a cluster keep it on a file system with working
locks (not every NFS has them).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path

from egoflow.text.backends import Response


def cache_key(identity: dict, messages: list[dict], grammar: str, max_tokens: int, seed: int) -> str:
    payload = {
        "identity": identity,
        "messages": messages,
        "grammar": grammar,
        "max_tokens": max_tokens,
        "seed": seed,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ResponseCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=120)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses nothing committed
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, response TEXT NOT NULL, created REAL)"
        )
        self.db.commit()

    def get(self, key: str) -> Response | None:
        row = self.db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return Response(**json.loads(row[0])) if row else None

    def put(self, key: str, response: Response) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?)",
            (key, json.dumps(asdict(response), ensure_ascii=False), time.time()),
        )
        self.db.commit()

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self.db.close()
