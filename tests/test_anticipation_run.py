"""The anticipation stage on a small synthetic world (in-process, seconds): S-GEAR and LTA train through the one
loop, resume bit-exact after a stop, evaluate to result rows, fuse, and write challenge files in their layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from egoflow.anticipation.data import LtaFeatures, LtaWindowConfig
from egoflow.anticipation.evaluation import validate_lta_outputs
from egoflow.anticipation.run import evaluate_lta, evaluate_sgear, fuse_sgear, train_lta, train_sgear
from egoflow.features.language_prototypes import write_language_prototypes
from egoflow.features.lmdb_store import LmdbFeatureWriter
from egoflow.features.visual_prototypes import VisualPrototypeConfig, build_visual_prototypes
from egoflow.train import PREEMPTED_EXIT_CODE

VERBS, NOUNS = ["take", "put", "open"], ["cup", "jar", "box", "lid"]
RECIPE = [(0, 0), (2, 1), (1, 0), (0, 2), (2, 3), (1, 2)]  # a fixed order of (verb, noun) steps
FPS = 5.0  # store frames per second
DIM = 12


def _ts(t: float) -> str:
    return f"00:{int(t // 60):02d}:{t % 60:05.2f}"


def make_world(root, videos=6, repeats=4, seed=0) -> dict:
    """EPIC train/val CSVs, an LMDB store whose frames show the current action (one-hot + noise), language and
    visual prototypes, LTA train/val/taxonomy JSONs (clips of 24 actions, so Z = 20 windows exist)."""
    rng = np.random.default_rng(seed)
    pairs = sorted(set(RECIPE))
    actions = pd.DataFrame(
        [
            {"action_id": i, "verb_class": v, "noun_class": n, "verb": VERBS[v], "noun": NOUNS[n]}
            for i, (v, n) in enumerate(pairs)
        ]
    )
    actions["sentence"] = actions["verb"] + " " + actions["noun"]
    write_language_prototypes(root / "language.h5", actions, rng.normal(size=(len(pairs), 8)), "synthetic")
    rows = {"train": [], "validation": []}
    lta = {"train": [], "validation": []}
    store = root / "store"
    with LmdbFeatureWriter(store, DIM) as writer:
        for k in range(videos):
            split = "validation" if k >= videos - 2 else "train"
            video = f"P{k:02d}_01"
            t, steps = 2.0, []
            offset = int(rng.integers(len(RECIPE)))
            for s in range(len(RECIPE) * repeats):
                v, n = RECIPE[(s + offset) % len(RECIPE)]
                length = float(rng.uniform(1.5, 3.0))
                steps.append((t, t + length, v, n))
                t += length + float(rng.uniform(0.2, 0.6))
            frames = np.arange(1, int(t * FPS) + 2)
            x = rng.normal(scale=0.3, size=(len(frames), DIM)).astype(np.float32)
            for start, stop, v, n in steps:
                covered = (frames / FPS >= start) & (frames / FPS <= stop)
                x[covered, pairs.index((v, n))] += 1.0
            writer.put(video, frames, x)
            writer.video_fps[video] = FPS
            for i, (start, stop, v, n) in enumerate(steps):
                rows[split].append(
                    {
                        "narration_id": f"{video}_{i}",
                        "participant_id": video[:3],
                        "video_id": video,
                        "narration_timestamp": _ts(start),
                        "start_timestamp": _ts(start),
                        "stop_timestamp": _ts(stop),
                        "start_frame": int(start * 30) + 1,
                        "stop_frame": int(stop * 30) + 1,
                        "narration": f"{VERBS[v]} {NOUNS[n]}",
                        "verb": VERBS[v],
                        "verb_class": v,
                        "noun": NOUNS[n],
                        "noun_class": n,
                        "all_nouns": f"['{NOUNS[n]}']",
                        "all_noun_classes": f"[{n}]",
                    }
                )
                lta[split].append(
                    {
                        "video_uid": video,
                        "clip_uid": video,
                        "clip_parent_start_sec": 0.0,
                        "action_idx": i,
                        "action_clip_start_sec": start,
                        "action_clip_end_sec": stop,
                        "verb": VERBS[v],
                        "noun": NOUNS[n],
                        "verb_label": v,
                        "noun_label": n,
                    }
                )
    paths = {"store": str(store), "language": str(root / "language.h5"), "visual": str(root / "visual.h5")}
    for split, table in rows.items():
        pd.DataFrame(table).to_csv(root / f"{split}.csv", index=False)
        paths[split] = str(root / f"{split}.csv")
        data = {"version": "1", "date": "", "description": "", "split": split, "clips": lta[split]}
        (root / f"lta_{split}.json").write_text(json.dumps(data))
        paths[f"lta_{split}"] = str(root / f"lta_{split}.json")
    (root / "taxonomy.json").write_text(json.dumps({"verbs": VERBS, "nouns": NOUNS}))
    paths["taxonomy"] = str(root / "taxonomy.json")
    build_visual_prototypes(
        [store], paths["language"], [paths["train"]], paths["visual"], VisualPrototypeConfig()
    )
    return paths


SGEAR = {
    "model": {
        "dim": 16,
        "heads": 4,
        "decoder_width": 16,
        "decoder_layers": 1,
        "decoder_heads": 2,
        "dropout": 0.0,
    },
    "window": {"tau_a": 1.0, "tau_o": 6.0, "fps": 1.0},
    "loss": {"cls": 1.0, "past": 0.0, "feat": 1.0, "sem": 1.0, "reg": 1.0},
    "train": {"max_steps": 6, "lr": 0.003, "batch_size": 8, "checkpoint_every": 100, "log_every": 1},
}
LTA = {
    "model": {"aggregator": "transformer", "dim": 16, "layers": 1, "heads": 2, "dropout": 0.0},
    "window": {"num_input": 2, "num_future": 20, "fps": 2.0},
    "num_sequences": 5,
    "train": {"max_steps": 6, "lr": 0.003, "batch_size": 8, "checkpoint_every": 100, "log_every": 1},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("anticipation"))


def _outputs(folder):
    return {"model": folder / "model.pt", "config": folder / "config.json", "log": folder / "log.csv"}


def _sgear_inputs(world):
    return {k: world[k] for k in ("store", "language", "visual", "train", "validation")}


def test_sgear_resumes_bit_exact_after_a_stop(world, tmp_path):
    inputs = _sgear_inputs(world)
    straight = tmp_path / "straight"
    train_sgear("demo", SGEAR, inputs, straight, _outputs(straight), threads=1)
    stopped = tmp_path / "stopped"
    interrupted = {**SGEAR, "train": {**SGEAR["train"], "stop_after": 3}}
    with pytest.raises(SystemExit) as stop:
        train_sgear("demo", interrupted, inputs, stopped, _outputs(stopped), threads=1)
    assert stop.value.code == PREEMPTED_EXIT_CODE
    assert not (stopped / "model.pt").exists()
    train_sgear("demo", interrupted, inputs, stopped, _outputs(stopped), threads=1)  # resumes at step 3
    a = torch.load(straight / "model.pt", weights_only=False)["model"]
    b = torch.load(stopped / "model.pt", weights_only=False)["model"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert "at step 3" in (stopped / "checkpoints" / "events.log").read_text()  # it resumed, not restarted


def test_sgear_evaluates_fuses_and_writes_the_challenge_json(world, tmp_path):
    inputs = _sgear_inputs(world)
    train_sgear("demo", SGEAR, inputs, tmp_path / "a", _outputs(tmp_path / "a"), threads=1)
    out = {"scores": tmp_path / "a.npz", "result": tmp_path / "a.json", "challenge": tmp_path / "c.json"}
    result = evaluate_sgear("demo", {**inputs, "model": tmp_path / "a" / "model.pt"}, {}, out)
    row = json.loads(out["result"].read_text())
    assert row["system"] == "sgear" and row["split"] == "validation" and row["run"] == "demo"
    assert 0 <= row["metrics"]["overall/action/mt5r"] <= 100
    assert set(row["baseline"]["metrics"]) == set(row["metrics"])
    # 2 validation videos of 24 steps; only a step starting within 1 s of the video start is dropped
    assert result["n"]["overall/action"] == 2 * 24 - result["dropped"] and result["dropped"] <= 2
    challenge = json.loads(out["challenge"].read_text())
    assert challenge["challenge"] == "action_anticipation" and challenge["version"] == "0.2"
    first = next(iter(challenge["results"].values()))
    assert set(first) == {"verb", "noun", "action"} and len(first["verb"]) == len(VERBS)
    fused = fuse_sgear(
        ["demo", "demo"], [2.5, 0.5], [out["scores"], out["scores"]], inputs, {}, tmp_path / "f.json"
    )
    # fusing a run with itself rescales its scores: the ranking, so every recall, is unchanged
    assert fused["metrics"]["overall/action/mt5r"] == pytest.approx(row["metrics"]["overall/action/mt5r"])


def test_lta_trains_evaluates_and_writes_outputs_json(world, tmp_path):
    inputs = {"store": world["store"], "train": world["lta_train"], "taxonomy": world["taxonomy"]}
    train_lta("demo", LTA, inputs, tmp_path / "lta", _outputs(tmp_path / "lta"), threads=1)
    out = {"result": tmp_path / "lta.json", "outputs": tmp_path / "outputs.json"}
    inputs |= {"model": tmp_path / "lta" / "model.pt", "validation": world["lta_validation"]}
    inputs["test"] = world["lta_validation"]  # read without labels, as the unannotated test split
    evaluate_lta("demo", inputs, out)
    row = json.loads(out["result"].read_text())
    assert {"verb/ED@20", "noun/ED@20", "action/ED@20"} <= set(row["metrics"])
    outputs = json.loads(out["outputs"].read_text())
    # 2 validation clips of 24 actions: 24 - 20 - 2 + 1 = 3 windows each, keyed by the last observed action_idx
    assert sorted(outputs) == sorted(f"P{k:02d}_01_{i}" for k in (4, 5) for i in (1, 2, 3))
    validate_lta_outputs(outputs, k=5, z=20)
    bad = {key: {"verb": value["verb"][:4], "noun": value["noun"]} for key, value in outputs.items()}
    with pytest.raises(ValueError, match="5 lists of 20 ints"):
        validate_lta_outputs(bad, k=5, z=20)


def test_lta_reads_each_observed_action_from_its_own_video(world, tmp_path):
    """A clip chaining two videos (as the demo world's do): every observed action's feature comes from the
    video of its own entry; reading all of a window from its last action's video would show, for the window
    across the seam, the second video's action at the first one's times."""
    data = json.loads(Path(world["lta_validation"]).read_text())
    for i, entry in enumerate(data["clips"]):  # P04_01's 24 actions, then P05_01's 24, as one clip
        entry |= {"clip_uid": "chain", "action_idx": i}
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(data))
    lta = LtaFeatures(path, [world["store"]], LtaWindowConfig(num_input=2, num_future=20, fps=2.0))
    # 48 - 20 - 2 + 1 = 27 windows; window 23 observes P04_01's last action and P05_01's first
    assert len(lta) == 27 and [v for v, _, _ in lta.windows[23]["observed"]] == ["P04_01", "P05_01"]
    pairs = sorted(set(RECIPE))
    truth = [pairs.index((e["verb_label"], e["noun_label"])) for e in data["clips"]]
    seen = lta.x[:, :, : len(pairs)].argmax(-1)  # the store's frames show their action as a one-hot
    assert seen.tolist() == [[truth[i], truth[i + 1]] for i in range(27)]
