"""Read clips from the chunked videos listed in a manifest, with PyAV (default) or decord (`backend="decord"`).

`ClipReader(manifest).read(video_uid, start_sec, end_sec, num_frames, mode)` -> uint8 [T, H, W, 3] RGB;
`ClipReader.from_chunks(results/videos/chunks/<uid>)` reads one video's chunk folder without the manifest.
Times are seconds of the source video. The clip's frames are those whose timestamp lies in [start, end), taken
from every chunk the clip overlaps (a clip may span two chunks), using each chunk's real frame timestamps —
no assumed 30 fps, so VFR and 29.97 fps videos map exactly.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from egoflow.errors import InputError
from egoflow.videos.decoders import open_video
from egoflow.videos.manifest import read_manifest
from egoflow.videos.sampling import sample_positions


@dataclass
class ChunkEntry:
    path: str
    start_sec: float  # time of the chunk's first frame in the source video
    duration_sec: float
    num_frames: int = 0
    fps: float = 0.0
    vfr: bool = True  # constant-rate chunks let PyAV compute frame times instead of reading them

    @property
    def cfr(self) -> tuple[int, float] | None:
        """(num_frames, fps) of a constant-rate chunk, None when its frame times must be read."""
        return None if self.vfr or not self.num_frames else (self.num_frames, self.fps)


@dataclass
class FramePlan:
    chunk: np.ndarray  # int64 [T]: index into the video's chunk list
    frame: np.ndarray  # int64 [T]: frame index inside that chunk
    time_sec: np.ndarray  # float64 [T]: presentation time in the source video


class ClipReader:
    def __init__(
        self,
        manifest: str | Path | pd.DataFrame,
        *,
        backend: str = "pyav",
        num_threads: int = 1,
        cache_size: int = 8,
        size: tuple[int, int] | None = None,
    ):
        table = manifest if isinstance(manifest, pd.DataFrame) else read_manifest(manifest)
        self.source = table.attrs.get("path", "<manifest>")
        self.backend = backend  # "pyav" | "decord" (see decoders.py: same frames, PyAV ~7x faster cold)
        self.num_threads = num_threads  # decoding threads per open file; 1 = one core per reader
        self.cache_size = cache_size  # open files kept (each keeps its frame index)
        self.size = size  # (width, height) frames are resized to; None = as stored
        chunks = table[table["row_type"] == "chunk"].sort_values(["video_uid", "chunk_id"])
        self.chunks: dict[str, list[ChunkEntry]] = {}
        for row in chunks.itertuples():
            self.chunks.setdefault(row.video_uid, []).append(
                ChunkEntry(
                    row.path,
                    row.start_sec,
                    row.duration_sec,
                    int(getattr(row, "num_frames", 0) or 0),
                    float(getattr(row, "fps", 0.0) or 0.0),
                    bool(getattr(row, "vfr", 1)),
                )
            )
        videos = table[table["row_type"] == "video"]
        self.durations: dict[str, float] = dict(zip(videos["video_uid"], videos["duration_sec"], strict=True))
        self._open: OrderedDict[str, object] = OrderedDict()

    def __getstate__(self):  # DataLoader workers each open their own files
        state = self.__dict__.copy()
        state["_open"] = OrderedDict()
        return state

    @classmethod
    def from_chunks(cls, chunks_dir: str | Path, **kwargs) -> ClipReader:
        """A reader of the one video in a `resize_chunk` folder (`chunks.json` + `<k>.mp4`)."""
        record = read_chunk_record(chunks_dir)
        if not record["ok"]:
            raise InputError(
                Path(chunks_dir) / "chunks.json",
                f"rejected by the video stage ({record['stage']}): {record['reason']}",
            )
        rows = [
            {"row_type": "chunk", "video_uid": record["video_uid"], "chunk_id": c["chunk_id"]}
            | {"path": str(Path(chunks_dir) / c["file"]), "start_sec": c["start_sec"]}
            | {k: c["probe"][k] for k in ("duration_sec", "num_frames", "fps", "vfr")}
            for c in record["chunks"]
        ]
        duration = sum(row["duration_sec"] for row in rows)
        video = {"row_type": "video", "video_uid": record["video_uid"], "duration_sec": duration}
        table = pd.DataFrame([video, *rows])
        table.attrs["path"] = str(Path(chunks_dir) / "chunks.json")
        return cls(table, **kwargs)

    def video_uids(self) -> list[str]:
        return list(self.chunks)

    def _entries(self, video_uid: str) -> list[ChunkEntry]:
        if video_uid not in self.chunks:
            raise InputError(
                self.source, f"video {video_uid!r} is not in the manifest (rejected, or not in the sheet?)"
            )
        return self.chunks[video_uid]

    def _reader(self, chunk: ChunkEntry):
        """The open decoder of one chunk (its `times` and `get_batch`), least recently used evicted."""
        path = chunk.path
        if path in self._open:
            self._open.move_to_end(path)
            return self._open[path]
        entry = self._open[path] = open_video(path, self.backend, self.num_threads, chunk.cfr, self.size)
        while len(self._open) > self.cache_size:  # cache_size=0: reopen every time (cold reads)
            self._open.popitem(last=False)
        return entry

    def plan(
        self, video_uid: str, start_sec: float, end_sec: float, num_frames: int, mode: str = "test", rng=None
    ) -> FramePlan:
        """Which frames (chunk, index, time) a clip read returns."""
        entries = self._entries(video_uid)
        start = max(float(start_sec), 0.0)
        end = min(max(float(end_sec), start), self.durations.get(video_uid, np.inf))
        chunk_ids, frames, times = [], [], []
        for i, entry in enumerate(entries):
            if entry.start_sec >= end or entry.start_sec + entry.duration_sec <= start:
                continue
            local = self._reader(entry).times
            global_times = entry.start_sec + local  # [N]
            lo, hi = np.searchsorted(global_times, [start, end], side="left")
            chunk_ids.append(np.full(hi - lo, i))
            frames.append(np.arange(lo, hi))
            times.append(global_times[lo:hi])
        chunk_ids, frames, times = (
            np.concatenate(a) if a else np.zeros(0) for a in (chunk_ids, frames, times)
        )
        if len(frames) == 0:
            # Shorter than one frame, or past the end: the frame on screen at `start`.
            i = max(0, int(np.searchsorted([e.start_sec for e in entries], start, side="right")) - 1)
            local = self._reader(entries[i]).times
            j = max(0, int(np.searchsorted(entries[i].start_sec + local, start, side="right")) - 1)
            chunk_ids, frames, times = (
                np.array([i]),
                np.array([j]),
                np.array([entries[i].start_sec + local[j]]),
            )
        positions = sample_positions(len(frames), num_frames, mode, rng)
        return FramePlan(
            chunk_ids[positions].astype(np.int64), frames[positions].astype(np.int64), times[positions]
        )

    def frame_index(self, video_uid: str) -> FramePlan:
        """Every frame of the video, in order: the chunks hold each source frame once, so position i of the
        index is source frame i (resize_chunk checks the counts)."""
        times = [entry.start_sec + self._reader(entry).times for entry in self._entries(video_uid)]
        return FramePlan(
            np.concatenate([np.full(len(t), i, dtype=np.int64) for i, t in enumerate(times)]),
            np.concatenate([np.arange(len(t), dtype=np.int64) for t in times]),
            np.concatenate(times),
        )

    def read(
        self, video_uid: str, start_sec: float, end_sec: float, num_frames: int, mode: str = "test", rng=None
    ) -> np.ndarray:
        """uint8 [num_frames, H, W, 3] RGB frames of the clip [start_sec, end_sec) (EgoVLP sampling)."""
        plan = self.plan(video_uid, start_sec, end_sec, num_frames, mode, rng)
        return self.read_plan(video_uid, plan)

    def read_plan(self, video_uid: str, plan: FramePlan) -> np.ndarray:
        entries = self.chunks[video_uid]
        out = [None] * len(plan.frame)
        for chunk in np.unique(plan.chunk):
            where = np.flatnonzero(plan.chunk == chunk)
            batch = self._reader(entries[chunk]).get_batch(plan.frame[where].tolist())  # [t, H, W, 3] RGB
            for k, w in enumerate(where):
                out[w] = batch[k]
        return np.stack(out)  # [T, H, W, 3]


def read_chunk_record(chunks_dir: str | Path) -> dict:
    """The `chunks.json` of one video's chunk folder: ok, (stage, reason) when rejected, every chunk's probe."""
    path = Path(chunks_dir) / "chunks.json"
    if not path.is_file():
        raise InputError(path, "file not found (not a resize_chunk output folder?)")
    return json.loads(path.read_text(encoding="utf-8"))
