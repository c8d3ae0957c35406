"""The demo world: deterministic, complete, and its videos show the state changes its annotations claim."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from egoflow.demo import plan_world, write_world
from egoflow.demo.annotations import STATE_VERBS, gtea_labels
from egoflow.demo.render import camera_offsets
from egoflow.sheet import read_sheet

SIZE = "tiny"


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, Path]:
    """Two tiny worlds with seed 0 (one written with 2 processes) and one with seed 1."""
    root = tmp_path_factory.mktemp("demo")
    out = {"a": root / "a", "b": root / "b", "other": root / "other"}
    write_world(out["a"], size=SIZE, seed=0)
    write_world(out["b"], size=SIZE, seed=0, threads=2)
    write_world(out["other"], size=SIZE, seed=1)
    return out


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])  # (T, H, W, 3)


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_plan_is_pure_data_and_does_not_import_torch():
    code = (
        "import sys; from egoflow.demo import plan_world; p = plan_world('medium', 0); "
        "p.video_files(); p.annotation_files(); p.sheet_table(); "
        "print(len(p.videos), 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, torch_loaded = result.stdout.split()
    assert int(count) >= 200
    assert torch_loaded == "False"


def test_plan_rejects_unknown_size_and_bad_seed():
    with pytest.raises(ValueError, match="huge"):
        plan_world("huge", 0)
    with pytest.raises(ValueError, match="seed"):
        plan_world(SIZE, -1)


def test_plan_is_deterministic_and_seed_dependent():
    a, b, other = plan_world(SIZE, 0), plan_world(SIZE, 0), plan_world(SIZE, 1)
    assert a.videos == b.videos
    assert [v.steps for v in a.videos] != [v.steps for v in other.videos]


def test_same_seed_gives_identical_annotations_and_frames(worlds):
    a, b = worlds["a"], worlds["b"]
    assert files_under(a) == files_under(b)
    for rel in sorted(files_under(a)):
        if rel.startswith("videos/"):
            np.testing.assert_array_equal(decode(a / rel), decode(b / rel), err_msg=rel)
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_different_seed_differs(worlds):
    a, other = worlds["a"], worlds["other"]
    egoclip = "annotations/egoclip/egoclip.csv"
    assert (a / egoclip).read_bytes() != (other / egoclip).read_bytes()
    first = plan_world(SIZE, 0).video_files()[0]
    frames_a, frames_other = decode(a / first), decode(other / first)
    n = min(len(frames_a), len(frames_other))
    assert not np.array_equal(frames_a[:n], frames_other[:n])


def test_plan_lists_exactly_what_is_written(worlds):
    plan = plan_world(SIZE, 0)
    expected = {"sheet.tsv", *plan.video_files(), *plan.annotation_files()}
    assert files_under(worlds["a"]) == expected  # also: no temporary files left behind
    assert len(plan.annotation_files()) == len(set(plan.annotation_files()))


def test_sheet_table_equals_written_sheet(worlds):
    plan = plan_world(SIZE, 0)
    written = pd.read_csv(worlds["a"] / "sheet.tsv", sep="\t", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(written, plan.sheet_table(), check_dtype=False)
    assert list(written.columns) == ["video_uid", "path", "split", "participant_id"]
    assert set(written["split"]) == {"train", "val", "test"}
    sheet = read_sheet(worlds["a"] / "sheet.tsv")
    assert all(Path(p).is_file() for p in sheet["path"])


def ffprobe(path: Path) -> dict:
    command = [
        "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
        "-show_entries", "stream=codec_name,pix_fmt,r_frame_rate,width,height,nb_read_frames:format=duration",
        "-of", "json", str(path),
    ]  # fmt: skip
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def test_videos_are_h264_30fps_with_planned_length(worlds):
    plan = plan_world(SIZE, 0)
    for video in plan.videos:
        info = ffprobe(worlds["a"] / video.video_file)
        stream = info["streams"][0]
        assert stream["codec_name"] == "h264"
        assert stream["pix_fmt"] == "yuv420p"
        assert stream["r_frame_rate"] == "30/1"
        assert (stream["width"], stream["height"]) == (video.width, video.height)
        assert int(stream["nb_read_frames"]) == video.n_frames
        assert float(info["format"]["duration"]) == pytest.approx(video.n_frames / 30, abs=0.05)
        assert 7 <= video.duration <= 12  # tiny videos: ~8-10 s


def box_diff(
    frames: np.ndarray, ends: tuple[int, int], offsets: np.ndarray, x: float, y: float, size: float
) -> float:
    """Mean absolute pixel difference between two frames inside a square around the object at (x, y).

    The camera jitters: a scene point (x, y) is at (x - dx, y - dy) in frame t, with (dx, dy) = offsets[t].
    """
    half = round(0.6 * size)
    crops = []
    for t in ends:
        cx, cy = round(x - offsets[t][0]), round(y - offsets[t][1])
        # Pad so a box crossing the frame edge keeps its size.
        padded = np.pad(frames[t].astype(int), ((half, half), (half, half), (0, 0)))
        crops.append(padded[cy : cy + 2 * half + 1, cx : cx + 2 * half + 1])
    return float(np.abs(crops[0] - crops[1]).mean())


def test_state_change_is_visible_on_the_target_not_on_its_distractor(worlds):
    plan = plan_world(SIZE, 0)
    checked = 0
    for video in plan.videos:
        frames = decode(worlds["a"] / video.video_file)
        offsets = camera_offsets(video)
        for step in video.steps:
            if step.verb not in STATE_VERBS:
                continue
            target = video.objects[step.target]
            twins = [o for o in video.objects if o.noun == step.noun and not o.acted]
            ends = (step.start_frame, step.end_frame - 1)
            x, y = target.state_at(step.start_frame)["pos"]
            changed = box_diff(frames, ends, offsets, x, y, target.size)
            assert changed > 15, f"{video.uid} {step.verb} {step.noun}: change {changed:.1f}"
            for twin in twins:
                still = box_diff(frames, ends, offsets, twin.x, twin.y, twin.size)
                assert still < changed / 3, (
                    f"{video.uid} distractor {twin.noun}: {still:.1f} vs {changed:.1f}"
                )
                checked += 1
    assert checked >= 3  # the tiny world has distractors of changed objects


def test_annotation_times_agree_with_the_videos(worlds):
    plan = plan_world(SIZE, 0)
    root = worlds["a"] / "annotations"
    n_frames = {v.uid: v.n_frames for v in plan.videos}
    egoclip = pd.read_csv(root / "egoclip/egoclip.csv", sep="\t")
    assert (egoclip["clip_end"] <= egoclip["video_dur"]).all()
    assert set(egoclip["video_uid"]) == {v.uid for v in plan.by_split("train")}
    epic = pd.read_csv(root / "epic-kitchens-100/EPIC_100_validation.csv")
    assert (epic["stop_frame"] <= epic["video_id"].map(n_frames)).all()
    assert (epic["start_frame"] >= 1).all()
    for video in plan.videos:
        lines = (root / f"gtea/groundTruth/{video.uid}.txt").read_text().splitlines()
        assert lines == gtea_labels(video)
        assert len(lines) == video.n_frames // 2  # 15 fps labels of a 30 fps video
    relevancy = pd.read_pickle(root / "epic-kitchens-100/caption_relevancy_EPIC_100_retrieval_test.pkl")
    assert relevancy.shape[0] == len(pd.read_csv(root / "epic-kitchens-100/EPIC_100_retrieval_test.csv"))
    assert relevancy.max() == 1.0 and relevancy.min() >= 0.0


def test_every_format_parses_with_the_readers(worlds):
    from egoflow import annotations

    root = worlds["a"] / "annotations"
    config = {
        "egoclip": "egoclip/egoclip.csv",
        "egosummary": "egoclip/egosummary_full.csv",
        "summary_hierarchy": "egoclip/summary_clips_hierarchy_full.json",
        "egomcq": "egoclip/egomcq.json",
        "summarymcq": "egoclip/summarymcq_full.json",
        "epic_train": "epic-kitchens-100/EPIC_100_train.csv",
        "epic_validation": "epic-kitchens-100/EPIC_100_validation.csv",
        "epic_verb_classes": "epic-kitchens-100/EPIC_100_verb_classes.csv",
        "epic_noun_classes": "epic-kitchens-100/EPIC_100_noun_classes.csv",
        "epic_retrieval_test": "epic-kitchens-100/EPIC_100_retrieval_test.csv",
        "epic_retrieval_sentences": "epic-kitchens-100/EPIC_100_retrieval_test_sentence.csv",
        "epic_relevancy": "epic-kitchens-100/caption_relevancy_EPIC_100_retrieval_test.pkl",
        "charades_test": "charades-ego/CharadesEgo_v1_test_only1st.csv",
        "charades_classes": "charades-ego/Charades_v1_classes.txt",
        "lta_train": "ego4d-lta/fho_lta_train.json",
        "lta_val": "ego4d-lta/fho_lta_val.json",
        "lta_taxonomy": "ego4d-lta/fho_lta_taxonomy.json",
        "changeit": "changeit",
        "phases": "phases",
        "gtea": "gtea",
    }
    uids = [v.uid for v in plan_world(SIZE, 0).videos]
    read = annotations.read_annotations({k: str(root / v) for k, v in config.items()}, uids)
    assert set(read) == set(config)


def test_phase_labels_follow_the_recipe(worlds):
    plan = plan_world(SIZE, 0)
    items = pd.read_pickle(worlds["a"] / "annotations/phases/train.pkl")
    assert [i["name"] for i in items] == [v.uid for v in plan.by_split("train")]
    for item in items:
        labels = item["frame_label"]
        assert labels.dtype == np.int64 and len(labels) == item["seq_len"]
        assert labels[0] == 0 and (np.diff(labels) >= 0).all()  # phases only move forward


def test_cli_help_and_write(tmp_path):
    command = [sys.executable, "-m", "egoflow.cli", "demo-world"]
    help_text = subprocess.run([*command, "--help"], capture_output=True, text=True, check=True).stdout
    assert "--size" in help_text and "--seed" in help_text
    subprocess.run([*command, "--out", str(tmp_path / "w"), "--size", SIZE, "--seed", "3"], check=True)
    plan = plan_world(SIZE, 3)
    assert files_under(tmp_path / "w") == {"sheet.tsv", *plan.video_files(), *plan.annotation_files()}
