"""Frame features in LMDB, in the RULSTM/AVT layout, so their readers and ours share files both ways.

Key `{video_id}_frame_{frame:010d}.jpg` (utf-8; frame numbers 1-based at the source fps), value the raw
little-endian float32 bytes of one [D] vector. Nothing else goes into the main database (RULSTM readers iterate
it); our metadata sits beside it in `meta.json`. A store is a directory holding `data.mdb`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import lmdb
import numpy as np

from egoflow.atomic import AtomicWriter
from egoflow.errors import InputError

INITIAL_MAP_SIZE = 64 << 20  # grown by doubling on MapFullError, so small stores stay small on disk
META_NAME = "meta.json"


def frame_key(video_id: str, frame: int) -> bytes:
    """RULSTM key of 1-based `frame` of `video_id`: `P01_01_frame_0000000123.jpg`."""
    return f"{video_id}_frame_{frame:010d}.jpg".encode()


def open_lmdb_readonly(path: str | Path) -> lmdb.Environment:
    """Open a store for reading: read-only, no lock file (works on read-only and shared file systems), no readahead
    (random window reads). `path` is the directory holding data.mdb, or data.mdb itself."""
    path = Path(path)
    if path.is_file() and path.name == "data.mdb":
        path = path.parent
    if not (path / "data.mdb").is_file():
        raise InputError(path, "no data.mdb in this LMDB directory")
    try:
        return lmdb.open(str(path), readonly=True, lock=False, readahead=False, max_readers=1024, subdir=True)
    except lmdb.Error as error:
        raise InputError(path / "data.mdb", f"cannot open as LMDB ({error})") from None


def read_meta(path: str | Path) -> dict:
    """Our meta.json beside data.mdb ({} for a store written elsewhere, e.g. a RULSTM download)."""
    meta = Path(path) / META_NAME
    if not meta.is_file():
        return {}
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(meta, f"invalid JSON: {error.msg}", line=error.lineno) from None


def store_dim(env: lmdb.Environment, path: str | Path = "<lmdb>") -> int:
    """Feature dimension of a store, from its first value (RULSTM stores carry no metadata)."""
    with env.begin(buffers=True) as txn:
        cursor = txn.cursor()
        if not cursor.first():
            raise InputError(path, "LMDB store is empty")
        nbytes = len(cursor.value())
    if nbytes % 4:
        raise InputError(path, f"value of {nbytes} bytes is not a float32 vector")
    return nbytes // 4


class LmdbFeatureWriter(AtomicWriter):
    """Write frame features into a new store at `path`, atomically.

    Features are buffered and written `batch_size` at a time, one transaction per batch; when the map is full the
    transaction is retried after doubling the map size. The store appears at `path` only when the `with` block
    succeeds; a crash or SIGKILL leaves only a `.<name>.tmp-<pid>` sibling that no rule declares or reads.
    """

    def __init__(
        self, path: str | Path, dim: int, *, batch_size: int = 512, map_size: int = INITIAL_MAP_SIZE
    ):
        self.path = Path(path)
        self.dim = int(dim)
        self.batch_size = batch_size
        self.count = 0
        self.videos: dict[str, int] = {}  # rows per video
        self.video_fps: dict[str, float] = {}  # the fps each video's frame numbers count in, where known
        self._pending: list[tuple[bytes, bytes]] = []
        super().__init__(self.path)
        self._tmp.mkdir(parents=True)
        self._env = lmdb.open(str(self._tmp), map_size=map_size, subdir=True, sync=False, metasync=False)

    def put(self, video_id: str, frames: Iterable[int], features: np.ndarray) -> None:
        """Store features [B, D] for the 1-based `frames` [B] of `video_id`."""
        features = np.ascontiguousarray(features, dtype="<f4")
        frames = np.asarray(list(frames) if not isinstance(frames, np.ndarray) else frames, dtype=np.int64)
        if features.ndim != 2 or features.shape != (len(frames), self.dim):
            raise ValueError(f"expected features [{len(frames)}, {self.dim}], got {features.shape}")
        if len(frames) and frames.min() < 1:
            raise ValueError(f"frame numbers are 1-based, got {frames.min()}")
        for frame, row in zip(frames.tolist(), features, strict=True):
            self._pending.append((frame_key(video_id, frame), row.tobytes()))
        self.videos[video_id] = self.videos.get(video_id, 0) + len(frames)
        if len(self._pending) >= self.batch_size:
            self.flush()

    def put_raw(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Copy (key, value) pairs as they are (merging stores)."""
        for key, value in items:
            if len(value) != 4 * self.dim:
                raise ValueError(f"value of {len(value)} bytes for key {key!r}, expected {4 * self.dim}")
            self._pending.append((bytes(key), bytes(value)))
            if len(self._pending) >= self.batch_size:
                self.flush()

    def flush(self) -> None:
        while self._pending:
            try:
                with self._env.begin(write=True) as txn:
                    cursor = txn.cursor()
                    cursor.putmulti(self._pending)
                break
            except lmdb.MapFullError:
                # The failed transaction was aborted: nothing of this batch is stored; grow and retry it whole.
                self._env.set_mapsize(self._env.info()["map_size"] * 2)
        with self._env.begin() as txn:
            self.count = txn.stat()["entries"]
        self._pending.clear()

    def _finish(self) -> None:
        self.flush()
        self._env.sync(True)
        self._env.close()
        meta = {"layout": "rulstm", "key": "{video_id}_frame_{frame:010d}.jpg", "dtype": "float32"}
        meta.update(dim=self.dim, count=self.count, videos=dict(sorted(self.videos.items())))
        meta.update(video_fps=dict(sorted(self.video_fps.items())))
        (self._tmp / META_NAME).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        (self._tmp / "lock.mdb").unlink(missing_ok=True)  # readers open without locks

    def _release(self) -> None:
        self._env.close()


def merge_stores(sources: Iterable[str | Path], out: str | Path, *, batch_size: int = 2048) -> int:
    """Copy every key of `sources` (e.g. one store per video) into one new store at `out`; returns the count."""
    sources = [Path(s) for s in sources]
    dims = {}
    for source in sources:
        # Our stores record their dimension, so an empty one (a video the video stage rejected) merges too.
        dims[source] = read_meta(source).get("dim")
        if dims[source] is None:
            env = open_lmdb_readonly(source)
            dims[source] = store_dim(env, source)
            env.close()
    if len(set(dims.values())) > 1:
        raise InputError(sources[0], f"stores to merge differ in feature dimension: {dims}")
    dim = next(iter(dims.values()))
    with LmdbFeatureWriter(out, dim, batch_size=batch_size) as writer:
        for source in sources:
            env = open_lmdb_readonly(source)
            with env.begin() as txn:
                writer.put_raw(txn.cursor().iternext(keys=True, values=True))
            meta = read_meta(source)
            for video, n in meta.get("videos", {}).items():
                writer.videos[video] = writer.videos.get(video, 0) + n
            writer.video_fps.update(meta.get("video_fps", {}))
            env.close()
    return writer.count
