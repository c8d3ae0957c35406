"""S-GEAR visual prototypes: the per-class mean of stored visual embeddings, language prototype where none.

S-GEAR dumps up to 20 embeddings per action class and leaves the reduction unreleased (sgear-anticipation.md
§2.1); we take the mean. One embedding per annotated segment: the mean over the feature window that ends at the
segment's stop time and spans the segment (at `fps` frames per second). Segments are taken in file order,
at most `per_class` per action. A class with no segment in a stored video falls back to its language prototype,
linearly resampled along the feature axis to the visual dimension (as S-GEAR's BaseModel interpolates prototype
matrices whose width differs from the model's).

Output HDF5: action_id int64 [A], prototypes float32 [A, D], count int64 [A] (embeddings averaged, 0 = fallback),
source utf-8 [A] ("visual" | "language").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from egoflow.annotations.cells import timestamp_seconds
from egoflow.atomic import atomic_path
from egoflow.features.language_prototypes import read_language_prototypes
from egoflow.features.lmdb_store import read_meta
from egoflow.features.window import FeatureWindowReader
from egoflow.tables import read_table


@dataclass
class VisualPrototypeConfig:
    per_class: int = 20  # embeddings averaged per class (S-GEAR stores 20)
    fps: float = 4.0  # frames per second read inside each segment
    min_seconds: float = 0.25  # shorter segments are read as this long
    store_fps: float = 30.0  # fps of the frame numbers of stores without our meta.json (RULSTM EK100: 30)


def resample_dim(vectors: np.ndarray, dim: int) -> np.ndarray:
    """[A, C] -> [A, dim] by linear interpolation along the feature axis."""
    if vectors.shape[1] == dim:
        return vectors.astype(np.float32)
    x = torch.from_numpy(np.asarray(vectors, dtype=np.float32))[:, None]  # [A, C] -> [A, 1, C]
    return F.interpolate(x, size=dim, mode="linear", align_corners=True)[:, 0].numpy()  # [A, dim]


def segment_embeddings(
    reader: FeatureWindowReader,
    segments: Sequence[str | Path],
    action_of: dict[tuple[int, int], int],
    videos: set[str] | None,
    config: VisualPrototypeConfig,
) -> dict[int, list[np.ndarray]]:
    """{action_id: up to per_class [D] embeddings}, one per segment of a stored video, in file order."""
    store: dict[int, list[np.ndarray]] = {}
    columns = {"video_id": str, "start_timestamp": timestamp_seconds, "stop_timestamp": timestamp_seconds}
    columns.update(verb_class=int, noun_class=int)
    for path in segments:
        table = read_table(path, columns)
        rows = zip(
            table["video_id"],
            table["start_timestamp"],
            table["stop_timestamp"],
            table["verb_class"],
            table["noun_class"],
            strict=True,
        )
        for video, start, stop, verb, noun in tqdm(
            rows, total=len(table), desc=f"prototypes {Path(path).name}"
        ):
            action = action_of.get((verb, noun))
            if action is None or (videos is not None and video not in videos):
                continue
            kept = store.setdefault(action, [])
            if len(kept) >= config.per_class:
                continue
            window = reader.read(video, stop, max(stop - start, config.min_seconds), config.fps)  # [T, D]
            kept.append(window.mean(axis=0))
    return store


def build_visual_prototypes(
    stores: Sequence[str | Path],
    language_prototypes: str | Path,
    segments: Sequence[str | Path],
    out: str | Path,
    config: VisualPrototypeConfig,
) -> dict[str, int]:
    """Write the prototypes of every action of `language_prototypes` to `out`; returns counts by source."""
    language = read_language_prototypes(language_prototypes)
    action_of = {
        (int(v), int(n)): int(a)
        for a, v, n in zip(language["action_id"], language["verb_class"], language["noun_class"], strict=True)
    }
    metas = [read_meta(s) for s in stores]
    # Stores written elsewhere (RULSTM downloads) have no video list: then every segment is tried.
    videos = set().union(*(m["videos"] for m in metas)) if all("videos" in m for m in metas) else None
    with FeatureWindowReader(stores, default_fps=config.store_fps) as reader:
        embedded = segment_embeddings(reader, segments, action_of, videos, config)
        dim = reader.dim
    fallback = resample_dim(language["encodings"], dim)  # [A, D]
    ids = np.asarray(language["action_id"], dtype=np.int64)
    prototypes = np.empty((len(ids), dim), dtype=np.float32)  # [A, D]
    counts = np.zeros(len(ids), dtype=np.int64)
    for row, action in enumerate(ids.tolist()):
        kept = embedded.get(action, [])
        counts[row] = len(kept)
        prototypes[row] = np.mean(kept, axis=0) if kept else fallback[row]
    sources = ["visual" if c else "language" for c in counts]
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("action_id", data=ids)
        f.create_dataset("prototypes", data=prototypes)
        f.create_dataset("count", data=counts)
        f.create_dataset("source", data=sources, dtype=h5py.string_dtype("utf-8"))
        f.attrs.update(dim=dim, per_class=config.per_class, fps=config.fps, stores=[str(s) for s in stores])
    return {"visual": int((counts > 0).sum()), "language": int((counts == 0).sum())}
