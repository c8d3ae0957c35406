"""Anticipation samples: the real EPIC-100 validation CSV as an anticipation dataset; windows, drops, past labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egoflow.annotations.epic import read_epic_segments
from egoflow.anticipation.data import WindowConfig, anticipation_segments, lta_windows, past_labels
from egoflow.anticipation.evaluation import read_id_list
from egoflow.demo.annotations import lta
from egoflow.demo.world import RECIPES, plan_world

EPIC = Path(__file__).resolve().parents[1].parent / "shared/data/epic-kitchens-100"
if not EPIC.is_dir():
    EPIC = Path("/work/shared/data/epic-kitchens-100")


def test_real_epic100_validation_loads_as_anticipation_samples():
    if not (EPIC / "EPIC_100_validation.csv").is_file():
        pytest.fail(f"the real EPIC-100 annotations are missing at {EPIC}")
    table = read_epic_segments(EPIC / "EPIC_100_validation.csv")
    pairs = sorted(set(zip(table["verb_class"].astype(int), table["noun_class"].astype(int), strict=True)))
    actions = {pair: i for i, pair in enumerate(pairs)}
    kept, dropped = anticipation_segments(table, actions, WindowConfig(tau_a=1.0, tau_o=15.0, fps=1.0))
    # 9,668 segments; the 30 starting before 1 s + 1/30 s have no frame to observe (drop_style=correct)
    assert (len(table), len(kept), dropped) == (9668, 9638, 30)
    assert np.allclose(kept["end"], kept["start_sec"] - 1.0) and kept["end"].min() >= 1 / 30
    assert (kept["action"] >= 0).all()
    unseen = read_id_list(EPIC / "EPIC_100_unseen_participant_ids_validation.csv", "participant_id", str)
    tail_verbs = read_id_list(EPIC / "EPIC_100_tail_verbs.csv", "verb")
    tail_nouns = read_id_list(EPIC / "EPIC_100_tail_nouns.csv", "noun")
    tv, tn = kept["verb_class"].isin(tail_verbs), kept["noun_class"].isin(tail_nouns)
    counts = (
        int(kept["participant_id"].isin(unseen).sum()),
        int(tv.sum()),
        int(tn.sum()),
        int((tv | tn).sum()),
    )
    print(
        f"EPIC-100 validation: {len(kept)} kept, {dropped} dropped; unseen / tail verb / noun / action {counts}"
    )
    assert counts == (1062, 1749, 1890, 3091)


def _segments(rows):
    columns = [
        "narration_id",
        "participant_id",
        "video_id",
        "start_sec",
        "stop_sec",
        "verb_class",
        "noun_class",
    ]
    return pd.DataFrame(rows, columns=columns)


def test_window_end_drop_and_unknown_actions():
    table = _segments(
        [
            ("v_0", "P1", "v", 0.5, 1.0, 0, 0),  # end = -0.5 s: dropped
            ("v_1", "P1", "v", 1.02, 2.0, 0, 1),  # end = 0.02 s < 1/30 s: dropped
            ("v_2", "P1", "v", 3.0, 4.0, 1, 1),  # end = 2 s: kept, action (1, 1) unknown -> -1
            ("v_3", "P1", "v", 5.0, 6.0, 0, 1),
        ]
    )
    kept, dropped = anticipation_segments(table, {(0, 0): 0, (0, 1): 1}, WindowConfig())
    assert dropped == 2 and kept["narration_id"].tolist() == ["v_2", "v_3"]
    assert kept["end"].tolist() == [2.0, 4.0] and kept["action"].tolist() == [-1, 1]


def test_past_labels_take_the_covering_segment():
    table = _segments([("v_0", "P1", "v", 0.0, 2.0, 0, 0), ("v_1", "P1", "v", 1.5, 3.0, 0, 1)])
    samples = pd.DataFrame({"video_id": ["v", "w"]})
    times = np.array([[0.5, 1.8, 2.5, 4.0], [0.5, 1.8, 2.5, 4.0]])
    out = past_labels(samples, table, times, {(0, 0): 0, (0, 1): 1})
    # 1.8 s lies in both: the later-starting segment wins; 4 s in none; video w has no segments
    assert out.tolist() == [[0, 1, 1, -1], [-1, -1, -1, -1]]


def test_lta_windows_count_and_keys():
    # one clip chaining two videos (as the demo world's clips do): actions 0-2 in v1, 3-6 in v2
    rows = [
        {
            "clip_uid": "c",
            "video_uid": "v1" if i < 3 else "v2",
            "action_idx": i,
            "action_clip_start_sec": i,
            "action_clip_end_sec": i + 0.5,
            "verb_label": i % 3,
            "noun_label": i % 4,
        }
        for i in range(7)
    ]
    windows = lta_windows(pd.DataFrame(rows), num_input=2, num_future=3)
    # len - Z - N + 1 = 7 - 3 - 2 + 1 = 3 windows; key = clip_uid + the last observed action_idx
    assert [w["key"] for w in windows] == ["c_1", "c_2", "c_3"]
    assert windows[0]["verbs"].tolist() == [2, 0, 1]
    assert windows[0]["observed"] == [("v1", 0.0, 0.5), ("v1", 1.0, 1.5)]
    # each observed action is read from its own entry's video, not the last one's
    assert windows[1]["observed"] == [("v1", 1.0, 1.5), ("v1", 2.0, 2.5)]
    assert windows[2]["observed"] == [("v1", 2.0, 2.5), ("v2", 3.0, 3.5)]


def test_demo_lta_clips_chain_a_splits_videos():
    """The demo's LTA clip of a split plays its videos back to back (val also the test videos), grouped by
    procedure, so the wide world has windows at the paper's Z = 20; entries keep their own video and times."""
    plan = plan_world("wide", 0)
    recipe_index = {r.name: i for i, r in enumerate(RECIPES)}
    for split, videos in (("train", plan.by_split("train")), ("val", plan.by_split("val", "test"))):
        table = json.loads(lta(plan, split))["clips"]
        chained = list(dict.fromkeys(e["video_uid"] for e in table))
        by_uid = {v.uid: v for v in videos}
        # every video of the split once: by recipe, then by the steps kept, then plan order
        grouped = sorted(
            videos, key=lambda v: (recipe_index[v.recipe], [s.position for s in v.steps], v.index)
        )
        assert chained == [v.uid for v in grouped]
        # each recipe has one optional step: two procedures per recipe
        assert len({(v.recipe, len(v.steps)) for v in videos}) == 2 * len(RECIPES)
        steps = [(u, s) for u in chained for s in by_uid[u].steps]
        assert {e["clip_uid"] for e in table} == {chained[0]}
        assert [e["action_idx"] for e in table] == list(range(len(steps)))
        assert [(e["video_uid"], e["action_clip_start_sec"], e["verb_label"]) for e in table] == [
            (uid, round(s.start_s, 3), s.verb_class) for uid, s in steps
        ]
        windows = lta_windows(pd.DataFrame(list(table)), num_input=2, num_future=20)
        # wide: 377 train actions -> 377 - 20 - 2 + 1 = 356 windows; 94 val + 95 test -> 168
        assert len(windows) == {"train": 356, "val": 168}[split]
