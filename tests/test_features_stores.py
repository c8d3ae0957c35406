"""Feature stores: bit-exact round trips, RULSTM layout, map growth, lock-free readers, SIGKILL safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import lmdb
import numpy as np
import pytest

from egoflow.errors import InputError
from egoflow.features.hdf5_store import TextFeatureStore, TextFeatureWriter, text_key, write_text_features
from egoflow.features.lmdb_store import (
    LmdbFeatureWriter,
    frame_key,
    merge_stores,
    open_lmdb_readonly,
    read_meta,
)


def awkward_floats(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    """Random float32 plus values a lossy path would change: -0.0, subnormals, inf, nan, extremes."""
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    special = np.array([-0.0, 1e-45, -np.inf, np.inf, np.nan, np.finfo(np.float32).max], dtype=np.float32)
    x.flat[: len(special)] = special
    return x


def all_items(path: Path) -> dict[bytes, bytes]:
    env = open_lmdb_readonly(path)
    with env.begin() as txn:
        items = dict(txn.cursor().iternext(keys=True, values=True))
    env.close()
    return items


def test_frame_key_is_rulstm_layout():
    assert frame_key("P01_01", 123) == b"P01_01_frame_0000000123.jpg"


def test_lmdb_round_trip_bit_exact_with_map_growth(tmp_path):
    features = awkward_floats(3000, 48)
    frames = np.arange(1, 3001)
    out = tmp_path / "store"
    # A 64 KiB initial map holds ~300 vectors: the writer must grow it repeatedly, losing nothing.
    with LmdbFeatureWriter(out, 48, batch_size=256, map_size=1 << 16) as writer:
        writer.put("P01_01", frames[:1500], features[:1500])
        writer.put("vid-b.2", frames[1500:], features[1500:])
    items = all_items(out)
    assert len(items) == 3000
    for i, frame in enumerate(frames):
        video = "P01_01" if i < 1500 else "vid-b.2"
        value = items[frame_key(video, int(frame))]
        assert value == features[i].astype("<f4").tobytes()  # bit-exact, nan and -0.0 included
    assert np.frombuffer(items[frame_key("P01_01", 1)], "<f4").shape == (48,)
    meta = read_meta(out)
    assert meta["dim"] == 48 and meta["count"] == 3000 and meta["videos"] == {"P01_01": 1500, "vid-b.2": 1500}
    assert sorted(p.name for p in out.iterdir()) == ["data.mdb", "meta.json"]  # no lock file left behind


def test_readonly_reader_needs_no_lock_or_write_access(tmp_path):
    out = tmp_path / "store"
    with LmdbFeatureWriter(out, 4) as writer:
        writer.put("v", [1, 2], np.ones((2, 4), np.float32))
    os.chmod(out, 0o555)  # a read-only directory: a locking reader would fail to create lock.mdb
    try:
        env = open_lmdb_readonly(out / "data.mdb")
        with env.begin() as txn:
            assert txn.get(frame_key("v", 2)) == np.ones(4, np.float32).tobytes()
        env.close()
        assert not (out / "lock.mdb").exists()
    finally:
        os.chmod(out, 0o755)


def test_writer_rejects_bad_shapes_and_zero_frames(tmp_path):
    with (
        pytest.raises(ValueError, match=r"expected features \[2, 4\]"),
        LmdbFeatureWriter(tmp_path / "s", 4) as w,
    ):
        w.put("v", [1, 2], np.ones((2, 5)))
    assert not (tmp_path / "s").exists()
    with pytest.raises(ValueError, match="1-based"), LmdbFeatureWriter(tmp_path / "s", 4) as w:
        w.put("v", [0], np.ones((1, 4)))
    assert list(tmp_path.iterdir()) == []  # failed writers leave nothing, not even the temporary sibling


def test_open_missing_store_names_the_path(tmp_path):
    with pytest.raises(InputError, match="no data.mdb"):
        open_lmdb_readonly(tmp_path)


def test_merge_keeps_every_value_and_meta(tmp_path):
    a, b = awkward_floats(20, 8, 1), awkward_floats(30, 8, 2)
    with LmdbFeatureWriter(tmp_path / "a", 8) as w:
        w.put("va", np.arange(1, 21), a)
        w.video_fps["va"] = 25.0
    with LmdbFeatureWriter(tmp_path / "b", 8) as w:
        w.put("vb", np.arange(1, 31) * 6, b)
        w.video_fps["vb"] = 30.0
    assert merge_stores([tmp_path / "a", tmp_path / "b"], tmp_path / "m") == 50
    merged = all_items(tmp_path / "m")
    assert merged == {**all_items(tmp_path / "a"), **all_items(tmp_path / "b")}
    assert read_meta(tmp_path / "m")["video_fps"] == {"va": 25.0, "vb": 30.0}


def test_hdf5_round_trip_bit_exact_and_lookup(tmp_path):
    texts = [f"#C C takes cup {i}" for i in range(2500)] + ["", "ünïcödé ☕", "x" * 500]
    vectors = awkward_floats(len(texts), 16)
    write_text_features(tmp_path / "t.h5", texts, vectors, {"model": "test"})
    for in_memory in (False, True):
        with TextFeatureStore(tmp_path / "t.h5", in_memory=in_memory) as store:
            assert len(store) == len(texts) and store.dim == 16 and store.attrs["model"] == "test"
            got = store.get(texts)
            assert got.tobytes() == vectors.tobytes()  # every key, bit-exact
            shuffled = [texts[i] for i in [5, 2502, 5, 0]]  # repeats and any order
            assert store.get(shuffled).tobytes() == vectors[[5, 2502, 5, 0]].tobytes()
            assert "ünïcödé ☕" in store and "never stored" not in store
            with pytest.raises(KeyError, match="never stored"):
                store.get(["take plate", "never stored"][1:])
            assert store.texts() == texts


def test_hdf5_layout_is_chunked_with_sorted_key_index(tmp_path):
    import h5py

    texts = ["b", "a", "c"]
    write_text_features(tmp_path / "t.h5", texts, np.eye(3, dtype=np.float32))
    with h5py.File(tmp_path / "t.h5") as f:
        assert f["features"].shape == (3, 3) and f["features"].chunks is not None
        keys = f["index/key"][()]
        assert list(keys) == sorted(keys)
        assert [texts[r] for r in f["index/row"][()]] == sorted(texts, key=text_key)


def test_hdf5_writer_refuses_duplicates_and_short_writes(tmp_path):
    with pytest.raises(ValueError, match="distinct"):
        TextFeatureWriter(tmp_path / "t.h5", ["a", "a"], 2)
    with (
        pytest.raises(ValueError, match="1 rows written for 2 texts"),
        TextFeatureWriter(tmp_path / "t.h5", ["a", "b"], 2) as w,
    ):
        w.append(np.zeros((1, 2)))
    assert list(tmp_path.iterdir()) == []


KILL_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from egoflow.features.hdf5_store import TextFeatureWriter
    from egoflow.features.lmdb_store import LmdbFeatureWriter

    kind, out = sys.argv[1], sys.argv[2]
    x = np.arange(4000 * 32, dtype=np.float32).reshape(4000, 32)
    if kind == "lmdb":
        with LmdbFeatureWriter(out, 32, batch_size=100, map_size=1 << 16) as w:
            for start in range(0, 4000, 100):
                w.put("v", np.arange(start + 1, start + 101), x[start : start + 100])
                if start == 1000:
                    print("writing", flush=True)
                    time.sleep(60)
    else:
        texts = [f"text {i}" for i in range(4000)]
        with TextFeatureWriter(out, texts, 32) as w:
            for start in range(0, 4000, 100):
                w.append(x[start : start + 100])
                if start == 1000:
                    print("writing", flush=True)
                    time.sleep(60)
    """
)


def write_reference(kind: str, out: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", KILL_CHILD.replace("time.sleep(60)", "pass"), kind, str(out)], check=True
    )


@pytest.mark.parametrize("kind", ["lmdb", "hdf5"])
def test_sigkill_while_writing_leaves_nothing_trusted_and_rerun_matches(tmp_path, kind):
    out = tmp_path / ("store" if kind == "lmdb" else "t.h5")
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_CHILD, kind, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "writing"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert not out.exists()  # nothing at the declared path: a rerun (or Snakemake) sees the output as missing
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers == [f".{out.name}.tmp-{child.pid}"]  # only the temporary sibling, which nothing reads
    write_reference(kind, out)  # the rerun
    reference = tmp_path / "reference"
    reference.mkdir()
    write_reference(kind, reference / out.name)
    if kind == "lmdb":
        assert all_items(out) == all_items(reference / out.name) and len(all_items(out)) == 4000
    else:
        a, b = TextFeatureStore(out), TextFeatureStore(reference / out.name)
        texts = [f"text {i}" for i in range(4000)]
        assert a.get(texts).tobytes() == b.get(texts).tobytes()
        assert a.get(texts).tobytes() == np.arange(4000 * 32, dtype=np.float32).tobytes()


def test_existing_rulstm_store_is_used_as_is(tmp_path):
    """A data.mdb written the RULSTM way (plain lmdb, no meta.json) opens and reads unchanged."""
    src = tmp_path / "rgb"
    env = lmdb.open(str(src), map_size=1 << 20)
    with env.begin(write=True) as txn:
        for frame in range(1, 11):
            txn.put(f"P01_01_frame_{frame:010d}.jpg".encode(), np.full(1024, frame, np.float32).tobytes())
    env.close()
    before = (src / "data.mdb").read_bytes()
    from egoflow.features.window import FeatureWindowReader

    with FeatureWindowReader(src / "data.mdb") as reader:
        assert reader.dim == 1024
        window = reader.read("P01_01", end=10 / 30, observed=4 / 30, fps=30)  # frames 7..10 at 30 fps
        assert window[:, 0].tolist() == [7, 8, 9, 10]
    assert (src / "data.mdb").read_bytes() == before
