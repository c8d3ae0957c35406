"""Text features in HDF5: a [N, D] float32 dataset plus a key index (text hash -> row).

Layout of one file:
    features   float32 [N, D], chunked by rows, row i is the i-th distinct text in insertion order
    texts      utf-8 strings [N]       the texts themselves, for inspection and rebuilds
    index/key  bytes S40 [N], sorted   sha1 hex of each text (`text_key`)
    index/row  int64 [N]               row of `features` for index/key[j]
    attrs      model, dim, count and whatever the writer adds
A lookup is a vectorised binary search in index/key, so opening a 4M-row file reads 2 small arrays, not a dict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from egoflow.atomic import AtomicWriter
from egoflow.errors import InputError

KEY_DTYPE = "S40"  # sha1 hex digest
# 64 KiB chunks: random lookups read (and cache) one small chunk per text; 1024-row chunks of 768-d rows are
# 3 MB, larger than h5py's 1 MB chunk cache, and made random lookups ~8x slower (benchmarks/features.py).
CHUNK_BYTES = 64 << 10


def text_key(text: str) -> bytes:
    """The index key of a text: the sha1 of its exact utf-8 bytes (no normalisation: what you store is what you ask)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest().encode("ascii")


def unique_texts(texts: Iterable[str]) -> list[str]:
    """Distinct texts in first-seen order (encoding is the expensive part, so every text is encoded once)."""
    return list(dict.fromkeys(texts))


class TextFeatureWriter(AtomicWriter):
    """Append [B, D] batches for known texts; the file appears at `path` only after `close()` succeeds.

    Use as a context manager: on an exception (or a kill) only a `.<name>.tmp-<pid>` sibling is left behind.
    """

    def __init__(
        self, path: str | Path, texts: Sequence[str], dim: int, attrs: Mapping[str, object] | None = None
    ):
        self.texts = list(texts)
        if len(set(self.texts)) != len(self.texts):
            raise ValueError("texts must be distinct; deduplicate with unique_texts() first")
        self.dim = int(dim)
        self.attrs = dict(attrs or {})
        super().__init__(path)
        self._file = h5py.File(self._tmp, "w")
        n = len(self.texts)
        self._features = self._file.create_dataset(
            "features",
            shape=(n, self.dim),
            dtype="float32",
            chunks=(max(1, min(n, CHUNK_BYTES // (4 * self.dim))), self.dim) if n else None,
        )
        self.written = 0

    def append(self, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected a [B, {self.dim}] batch, got shape {vectors.shape}")
        end = self.written + len(vectors)
        if end > len(self.texts):
            raise ValueError(f"{end} rows written but only {len(self.texts)} texts declared")
        self._features[self.written : end] = vectors
        self.written = end

    def _finish(self) -> None:
        if self.written != len(self.texts):
            raise ValueError(f"{self.written} rows written for {len(self.texts)} texts")
        keys = np.array([text_key(t) for t in self.texts], dtype=KEY_DTYPE)  # [N]
        order = np.argsort(keys, kind="stable")  # [N] rows sorted by key
        self._file.create_dataset("texts", data=np.array(self.texts, dtype=h5py.string_dtype("utf-8")))
        self._file.create_dataset("index/key", data=keys[order])
        self._file.create_dataset("index/row", data=order.astype(np.int64))
        for name, value in {**self.attrs, "dim": self.dim, "count": len(self.texts)}.items():
            self._file.attrs[name] = value
        self._file.close()

    def _release(self) -> None:
        self._file.close()


def write_text_features(
    path: str | Path, texts: Sequence[str], vectors: np.ndarray, attrs: Mapping[str, object] | None = None
) -> None:
    """Write distinct `texts` and their [N, D] `vectors` in one go."""
    vectors = np.asarray(vectors, dtype=np.float32)
    with TextFeatureWriter(path, texts, vectors.shape[1], attrs) as writer:
        writer.append(vectors)


class TextFeatureStore:
    """Read-only access to a text feature file: `store.get(["take plate", ...])` -> [B, D] float32.

    `in_memory=True` loads the [N, D] matrix once (fast repeated lookups, e.g. in a training loop).
    """

    def __init__(self, path: str | Path, *, in_memory: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(self.path, "text feature file not found")
        try:
            self._file = h5py.File(self.path, "r")
            self._keys = self._file["index/key"][()]  # [N] sorted S40
            self._rows = self._file["index/row"][()]  # [N]
            self._features = self._file["features"]
        except (OSError, KeyError) as error:
            raise InputError(self.path, f"not a text feature file ({error})") from None
        if in_memory:
            self._features = self._features[()]
        self.attrs = dict(self._file.attrs)
        self.dim = int(self._features.shape[1])

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, text: str) -> bool:
        return self.find([text])[0] >= 0

    def find(self, texts: Sequence[str]) -> np.ndarray:
        """Row of each text, -1 where absent. [B] int64."""
        keys = np.array([text_key(t) for t in texts], dtype=KEY_DTYPE)  # [B]
        if not len(self._keys):
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)  # [B]
        return np.where(self._keys[pos] == keys, self._rows[pos], -1)

    def get(self, texts: Sequence[str]) -> np.ndarray:
        """[B, D] features of `texts`; a text that was never stored raises KeyError naming it."""
        rows = self.find(texts)
        missing = [t for t, r in zip(texts, rows, strict=True) if r < 0]
        if missing:
            raise KeyError(f"{self.path}: {len(missing)} text(s) not stored, first: {missing[0]!r}")
        if isinstance(self._features, np.ndarray):
            return self._features[rows]
        # Row by row: h5py's fancy indexing builds a hyperslab union and is ~3x slower for scattered rows.
        unique, inverse = np.unique(rows, return_inverse=True)
        out = np.empty((len(unique), self.dim), dtype=np.float32)  # [U, D]
        for i, row in enumerate(unique.tolist()):
            out[i] = self._features[row]
        return out[inverse]  # [B, D]

    def texts(self) -> list[str]:
        return [t.decode("utf-8") if isinstance(t, bytes) else t for t in self._file["texts"][()]]

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TextFeatureStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
