"""Feature-store performance: prints measured numbers and ratios (goals in the comments), asserts nothing.

    .venv/bin/python benchmarks/features.py [--videos 20] [--frames 3000] [--dim 1024] [--queries 4000]

1. LMDB write MB/s (LmdbFeatureWriter, batched transactions, growing map).
2. Random-window read throughput of FeatureWindowReader.read_batch ÷ a raw lmdb cursor loop fetching the same
   keys (precomputed key bytes, `cursor.get` per key, values copied into one array). Goal >= 0.9.
3. HDF5 text-feature lookups/s (random texts in batches of 256), file-backed and in memory.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from egoflow.features.hdf5_store import TextFeatureStore, write_text_features
from egoflow.features.lmdb_store import LmdbFeatureWriter, frame_key
from egoflow.features.window import FeatureWindowReader, window_frames


def best_of(n: int, fn) -> float:
    """Fastest of n runs (seconds): the least disturbed by the other jobs on a shared machine."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument(
        "--frames", type=int, default=3000, help="frames per video (every frame stored, 30 fps)"
    )
    parser.add_argument("--dim", type=int, default=1024, help="feature dim (RULSTM rgb: 1024)")
    parser.add_argument("--queries", type=int, default=4000, help="random windows read")
    parser.add_argument("--texts", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        features = rng.standard_normal((args.frames, args.dim)).astype(np.float32)
        frames = np.arange(1, args.frames + 1)

        def write() -> None:
            with LmdbFeatureWriter(store, args.dim, batch_size=1024) as writer:
                for v in range(args.videos):
                    writer.put(f"P{v:02d}_01", frames, features)

        seconds = best_of(1, write)
        megabytes = args.videos * args.frames * args.dim * 4 / 1e6
        print(f"LMDB write: {megabytes:.0f} MB in {seconds:.2f} s = {megabytes / seconds:.0f} MB/s")

        # Random windows: 2 s observed at 4 fps (T = 8) ending anywhere in a video, read 64 per batch.
        observed, fps, batch = 2.0, 4.0, 64
        videos = rng.integers(0, args.videos, args.queries)
        ends = rng.uniform(0, args.frames / 30.0, args.queries)
        queries = [(f"P{v:02d}_01", float(e)) for v, e in zip(videos, ends, strict=True)]
        batches = [queries[i : i + batch] for i in range(0, len(queries), batch)]
        keys = [
            [
                frame_key(video, f)
                for video, end in b
                for f in window_frames(end, observed, fps, 30.0).tolist()
            ]
            for b in batches
        ]
        reader = FeatureWindowReader(store, source_fps=30.0)
        env = reader.envs[0]  # py-lmdb allows one open environment per path and process

        def read_reader() -> None:
            for b in batches:
                reader.read_batch(b, observed, fps)

        def read_raw() -> None:
            for ks in keys:
                out = np.empty((len(ks), args.dim), np.float32)
                with env.begin(buffers=True) as txn:
                    cursor = txn.cursor()
                    for i, k in enumerate(ks):
                        out[i] = np.frombuffer(cursor.get(k), np.float32)

        read_reader()  # warm the page cache for both
        # Interleaved rounds, fastest of each: other jobs on a shared machine slow both sides alike.
        rounds = [(best_of(1, read_reader), best_of(1, read_raw)) for _ in range(7)]
        t_reader, t_raw = min(r for r, _ in rounds), min(w for _, w in rounds)
        windows = len(queries)
        print(
            f"window reads: reader {windows / t_reader:.0f} windows/s, raw cursor loop {windows / t_raw:.0f} windows/s "
            f"(T=8, D={args.dim}); ratio reader/raw = {t_raw / t_reader:.2f} (goal >= 0.9)"
        )
        reader.close()

        texts = [f"#C C does thing number {i}" for i in range(args.texts)]
        write_text_features(
            Path(tmp) / "t.h5", texts, rng.standard_normal((args.texts, 768)).astype(np.float32)
        )
        lookups = [[texts[i] for i in rng.integers(0, args.texts, 256)] for _ in range(40)]
        for in_memory in (False, True):
            with TextFeatureStore(Path(tmp) / "t.h5", in_memory=in_memory) as text_store:
                seconds = best_of(3, lambda s=text_store: [s.get(b) for b in lookups])
            where = "in memory" if in_memory else "from file"
            print(f"HDF5 lookups ({where}, {args.texts} texts x 768): {40 * 256 / seconds:.0f} texts/s")


if __name__ == "__main__":
    main()
