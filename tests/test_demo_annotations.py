"""The tiny demo world parses with the native-format readers: original column names, ids agree with the sheet."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from egoflow.annotations import read_annotations
from egoflow.demo import write_world
from egoflow.sheet import read_sheet

ROOT = Path(__file__).resolve().parents[1]
DEMO_PREFIX = "{demo}/"  # config/config.yaml's demo paths; {demo} = resources/demo/<demo.size>


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "tiny"
    write_world(out, size="tiny", seed=0)
    return out


@pytest.fixture(scope="module")
def sheet(world):
    return read_sheet(world / "sheet.tsv")


@pytest.fixture(scope="module")
def parsed(world, sheet):
    """Every file config/config.yaml names in the demo world, read and cross-checked against the sheet."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["annotations"]
    assert all(p.startswith(DEMO_PREFIX) for p in config.values()), config
    paths = {key: str(world / p.removeprefix(DEMO_PREFIX)) for key, p in config.items()}
    return read_annotations(paths, set(sheet.index))


def test_every_configured_file_parses(parsed):
    assert set(parsed) == {
        "egoclip", "egosummary", "summary_hierarchy", "egomcq", "summarymcq", "epic_train", "epic_validation",
        "epic_verb_classes", "epic_noun_classes", "epic_retrieval_test", "epic_retrieval_sentences",
        "epic_relevancy", "charades_train", "charades_test", "charades_classes", "lta_train", "lta_val", "lta_taxonomy",
        "changeit", "phases", "gtea",
    }  # fmt: skip


def test_egoclip_family(parsed, sheet):
    egoclip = parsed["egoclip"]
    assert list(egoclip.columns) == [
        "video_uid", "video_dur", "narration_source", "narration_ind", "narration_time",
        "clip_start", "clip_end", "clip_text", "tag_verb", "tag_noun",
    ]  # fmt: skip
    assert len(egoclip) > 0 and set(egoclip["video_uid"]) <= set(sheet.index)
    assert all(text.startswith("#C C ") for text in egoclip["clip_text"])
    summaries = parsed["egosummary"]
    assert list(summaries.columns) == list(egoclip.columns)
    assert set(parsed["summary_hierarchy"]) == set(summaries["clip_text"])
    # The hierarchy's narrations are the egoclip narrations of that summary's video.
    for video, text in zip(summaries["video_uid"], summaries["clip_text"], strict=True):
        narrations = set(egoclip.loc[egoclip["video_uid"] == video, "clip_text"])
        assert set(parsed["summary_hierarchy"][text].clip_text) <= narrations
    questions = parsed["egomcq"]
    assert questions and {q.types for q in questions} <= {1, 2}
    for q in questions:
        assert q.choices[q.answer]["clip_text"] == q.query["clip_text"]
        assert {c["video_uid"] for c in q.choices} <= set(sheet.index)
    # SummaryMCQ: a held-out video's summary; the right choice is that video's whole window.
    summary_questions = parsed["summarymcq"]
    assert summary_questions and {q.types for q in summary_questions} == {3}
    for q in summary_questions:
        right = q.choices[q.answer]
        assert right["video_uid"] == q.query["video_uid"] and right["clip_start"] == 0.0
        assert q.query["clip_text"].startswith("#Summary C ")
        assert len({c["video_uid"] for c in q.choices}) == 5


def test_epic_family(parsed, sheet):
    official = [
        "narration_id", "participant_id", "video_id", "narration_timestamp", "start_timestamp", "stop_timestamp",
        "start_frame", "stop_frame", "narration", "verb", "verb_class", "noun", "noun_class", "all_nouns",
        "all_noun_classes",
    ]  # fmt: skip
    for key in ("epic_train", "epic_validation", "epic_retrieval_test"):
        table = parsed[key]
        assert list(table.columns[: len(official)]) == official
        assert set(table["video_id"]) <= set(sheet.index)
        if "participant_id" in sheet.columns:
            assert (
                table["participant_id"] == sheet.loc[table["video_id"], "participant_id"].to_numpy()
            ).all()
        assert (table["stop_sec"] >= table["start_sec"]).all()
    assert list(parsed["epic_verb_classes"].columns) == ["id", "key", "instances", "category"]
    test, sentences = parsed["epic_retrieval_test"], parsed["epic_retrieval_sentences"]
    assert list(sentences.columns) == ["narration_id", "narration"]
    assert parsed["epic_relevancy"].shape == (len(test), len(sentences))
    # Each caption's representative clip is fully relevant to it (same verb, same nouns).
    rows = {nid: i for i, nid in enumerate(test["narration_id"])}
    for j, nid in enumerate(sentences["narration_id"]):
        assert parsed["epic_relevancy"][rows[nid], j] == 1.0


def test_charades_lta(parsed, sheet):
    classes = set(parsed["charades_classes"]["id"])
    for key in ("charades_train", "charades_test"):
        charades = parsed[key]
        assert {"id", "actions", "length"} <= set(charades.columns)
        assert set(charades["id"]) <= set(sheet.index)
        assert all(c in classes for actions in charades["actions"] for c, _, _ in actions)
    assert not set(parsed["charades_train"]["id"]) & set(parsed["charades_test"]["id"])  # disjoint splits
    taxonomy = parsed["lta_taxonomy"]
    for key in ("lta_train", "lta_val"):
        table = parsed[key]
        assert {"video_uid", "clip_uid", "action_idx", "verb_label", "noun_label"} <= set(table.columns)
        assert set(table["video_uid"]) <= set(sheet.index)
        assert (table["verb"] == [taxonomy.verbs[i] for i in table["verb_label"]]).all()


def test_changeit_phases_gtea(parsed, sheet, world):
    changeit = parsed["changeit"]
    assert list(changeit.categories.columns) == ["DIR_NAME", "ACTION_NAME", "CENTERING_PARAM"]
    assert changeit.annotations and {v for _, v in changeit.annotations} <= set(sheet.index)
    assert set(changeit.videos["video_id"]) <= set(sheet.index)
    phases = parsed["phases"]
    for split, table in phases.items():
        assert list(table.columns) == ["id", "video_file", "frame_label", "seq_len", "name"]
        for name, video_file in zip(table["name"], table["video_file"], strict=True):
            assert str((world / video_file).resolve()) == sheet.loc[name, "path"]
        if "split" in sheet.columns:
            assert set(table["name"]) == set(sheet.index[sheet["split"] == split])
    gtea = parsed["gtea"]
    assert set(gtea.labels) == set(sheet.index)
    assert gtea.mapping["name"][0] == "background"
    assert {v for videos in gtea.splits.values() for v in videos} == set(sheet.index)
