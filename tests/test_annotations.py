"""Native-format readers: the real EPIC-100 / ChangeIt files parse; broken files fail naming file, line, column."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from egoflow.annotations import (
    read_annotations,
    read_changeit,
    read_charades,
    read_charades_classes,
    read_egoclip,
    read_egomcq,
    read_epic_classes,
    read_epic_relevancy,
    read_epic_segments,
    read_epic_sentences,
    read_gtea,
    read_lta,
    read_lta_taxonomy,
    read_phases,
    read_rulstm_actions,
    read_summary_hierarchy,
)
from egoflow.annotations.cells import int_list, str_list, timestamp_seconds
from egoflow.errors import InputError

DATA = Path("/work/shared/data")
EPIC = DATA / "epic-kitchens-100"
CHANGEIT = DATA / "changeit"


def fails_at(call, path: Path, line: int | None = None, column: str | None = None) -> InputError:
    """`call()` must raise an InputError whose message names the file, and the line and column if given."""
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    assert Path(path).name in message, message
    if line is not None:
        assert f"line {line}," in message or message.split(": ")[0].endswith(f"line {line}"), message
    if column is not None:
        assert f"column '{column}'" in message, message
    return info.value


# --- real files --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def epic_classes():
    if not EPIC.is_dir():
        pytest.fail(f"the real EPIC-100 annotation files are missing from {EPIC}")
    verbs = read_epic_classes(EPIC / "EPIC_100_verb_classes.csv")
    return verbs, read_epic_classes(EPIC / "EPIC_100_noun_classes.csv")


def test_real_epic_files_parse(epic_classes):
    verbs, nouns = epic_classes
    assert (len(verbs), len(nouns)) == (97, 300)
    assert list(verbs.columns) == ["id", "key", "instances", "category"]
    assert verbs["key"][0] == "take" and "pick-up" in verbs["instances"][0]
    validation = read_epic_segments(EPIC / "EPIC_100_validation.csv", verb_classes=verbs, noun_classes=nouns)
    assert len(validation) == 9668
    for column in ("narration_id", "video_id", "start_timestamp", "verb_class", "all_noun_classes"):
        assert column in validation.columns
    first = validation.iloc[0]
    assert (first["narration_id"], first["start_frame"], first["stop_frame"]) == ("P01_11_0", 1, 113)
    assert first["stop_sec"] == pytest.approx(1.89) and first["all_nouns"] == ["plate"]
    # 70 real rows leave narration_timestamp empty; they read as NaN seconds, not as an error.
    assert validation["narration_sec"].isna().sum() == 70
    test = read_epic_segments(EPIC / "EPIC_100_retrieval_test.csv", verb_classes=verbs, noun_classes=nouns)
    sentences = read_epic_sentences(EPIC / "EPIC_100_retrieval_test_sentence.csv", test)
    assert (len(test), len(sentences)) == (9668, 3842)
    assert list(sentences.columns) == ["narration_id", "narration"]


def test_real_changeit_files_parse():
    if not CHANGEIT.is_dir():
        pytest.fail(f"the real ChangeIt annotation files are missing from {CHANGEIT}")
    changeit = read_changeit(CHANGEIT)
    assert len(changeit.categories) == 44
    assert list(changeit.categories.columns) == ["DIR_NAME", "ACTION_NAME", "CENTERING_PARAM"]
    assert len(changeit.annotations) == 667
    assert len(changeit.videos) == 34428
    assert changeit.categories.set_index("DIR_NAME")["CENTERING_PARAM"]["apple"] == pytest.approx(0.309)
    # Label totals from the notes digest (object-states-lta-carl.md A.1).
    counts = np.bincount(np.concatenate(list(changeit.annotations.values())), minlength=4)
    assert counts.tolist() == [71644, 7829, 73517, 20338]


# --- cells ---------------------------------------------------------------------------------------------------


def test_cell_parsers():
    assert timestamp_seconds("00:01:02.50") == pytest.approx(62.5)
    assert timestamp_seconds("01:00:00.000") == 3600
    for bad in ("1:02", "00:61:00.00", "aa:bb:cc"):
        with pytest.raises(ValueError):
            timestamp_seconds(bad)
    assert int_list("[192, 115, 12]") == [192, 115, 12] and int_list("[]") == []
    assert str_list("['tap', 'tap:water']") == ["tap", "tap:water"]
    for bad in ("[93", "[1.5]", "['a']", "__import__('os').system('true')", "93"):
        with pytest.raises(ValueError):
            int_list(bad)


# --- EPIC: broken files ------------------------------------------------------------------------------------

EPIC_HEADER = (EPIC / "EPIC_100_validation.csv").read_text().splitlines()[0] if EPIC.is_dir() else ""
EPIC_ROWS = [
    "P01_11_0,P01,P01_11,00:00:00.560,00:00:00.00,00:00:01.89,1,113,take plate,take,0,plate,2,['plate'],[2]",
    "P01_11_1,P01,P01_11,00:00:01.700,00:00:01.56,00:00:02.45,93,147,put down plate,put-down,1,plate,2,['plate'],[2]",
    "P01_11_2,P01,P01_11,00:00:03.000,00:00:03.00,00:00:04.00,180,240,wash tap,wash,2,tap,0,\"['tap', 'plate']\",\"[0, 2]\"",
]


def write_epic(tmp_path: Path, rows: list[str], header: str = EPIC_HEADER) -> Path:
    path = tmp_path / "EPIC_100_validation.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_epic_hand_made_file_parses(tmp_path, epic_classes):
    path = write_epic(tmp_path, EPIC_ROWS)
    table = read_epic_segments(path, {"P01_11"}, verb_classes=epic_classes[0], noun_classes=epic_classes[1])
    assert table["all_noun_classes"].tolist() == [[2], [2], [0, 2]]
    assert table["start_sec"].tolist() == pytest.approx([0.0, 1.56, 3.0])


def test_epic_missing_column(tmp_path):
    header = EPIC_HEADER.replace(",verb_class", "")
    rows = [r.replace(",take,0,", ",take,") for r in EPIC_ROWS[:1]]
    path = write_epic(tmp_path, rows, header)
    fails_at(lambda: read_epic_segments(path), path, 1, "verb_class")


def test_epic_wrong_field_count(tmp_path):
    path = write_epic(tmp_path, [EPIC_ROWS[0], EPIC_ROWS[1] + ",extra"])
    error = fails_at(lambda: read_epic_segments(path), path, 3)
    assert "expected 15 fields, found 16" in str(error)


def test_epic_non_numeric_frame(tmp_path):
    path = write_epic(tmp_path, [EPIC_ROWS[0], EPIC_ROWS[1].replace(",93,147,", ",93a,147,")])
    fails_at(lambda: read_epic_segments(path), path, 3, "start_frame")


def test_epic_bad_timestamp_and_order(tmp_path):
    path = write_epic(tmp_path, [EPIC_ROWS[0].replace("00:00:01.89", "1.89")])
    fails_at(lambda: read_epic_segments(path), path, 2, "stop_timestamp")
    path = write_epic(tmp_path, [EPIC_ROWS[0].replace(",1,113,", ",120,113,")])
    fails_at(lambda: read_epic_segments(path), path, 2, "stop_frame")


def test_epic_unknown_video(tmp_path):
    path = write_epic(tmp_path, EPIC_ROWS)
    error = fails_at(lambda: read_epic_segments(path, {"P01_01"}), path, 2, "video_id")
    assert "P01_11" in str(error)


def test_epic_unknown_class(tmp_path, epic_classes):
    verbs, nouns = epic_classes
    path = write_epic(tmp_path, [EPIC_ROWS[0], EPIC_ROWS[1].replace(",put-down,1,", ",put-down,97,")])
    fails_at(lambda: read_epic_segments(path, verb_classes=verbs, noun_classes=nouns), path, 3, "verb_class")
    path = write_epic(tmp_path, [EPIC_ROWS[2].replace('"[0, 2]"', '"[0, 300]"')])
    fails_at(
        lambda: read_epic_segments(path, verb_classes=verbs, noun_classes=nouns), path, 2, "all_noun_classes"
    )


def test_epic_duplicate_narration_id(tmp_path):
    path = write_epic(tmp_path, [EPIC_ROWS[0], EPIC_ROWS[0]])
    fails_at(lambda: read_epic_segments(path), path, 3, "narration_id")


def test_epic_class_table_and_sentences(tmp_path):
    classes = tmp_path / "EPIC_100_verb_classes.csv"
    classes.write_text("id,key,instances,category\n0,take,\"['take']\",retrieve\n2,put,\"['put']\",leave\n")
    fails_at(lambda: read_epic_classes(classes), classes, 3, "id")
    test = read_epic_segments(write_epic(tmp_path, EPIC_ROWS))
    sentences = tmp_path / "EPIC_100_retrieval_test_sentence.csv"
    sentences.write_text("narration_id,narration\nP01_11_0,take plate\nP09_99_0,cut onion\n")
    fails_at(lambda: read_epic_sentences(sentences, test), sentences, 3, "narration_id")


def test_epic_relevancy_pickle(tmp_path):
    path = tmp_path / "caption_relevancy_EPIC_100_retrieval_test.pkl"
    matrix = np.array([[1.0, 0.5], [0.0, 1.0], [0.25, 0.0]])
    path.write_bytes(pickle.dumps(matrix, protocol=4))
    assert np.array_equal(read_epic_relevancy(path, shape=(3, 2)), matrix)
    fails_at(lambda: read_epic_relevancy(path, shape=(3, 3)), path)
    path.write_bytes(pickle.dumps(matrix * 2))
    fails_at(lambda: read_epic_relevancy(path), path)


class Exploit:
    def __reduce__(self):
        return (Path.touch, (Path("/tmp/never-created-by-egoflow-tests"),))


def test_restricted_unpickler_refuses_code_and_reads_old_numpy_names(tmp_path):
    marker = Path("/tmp/never-created-by-egoflow-tests")
    marker.unlink(missing_ok=True)
    path = tmp_path / "train.pkl"
    path.write_bytes(pickle.dumps([Exploit()]))
    error = fails_at(lambda: read_phases(path), path)
    assert "refusing to unpickle" in str(error) and not marker.exists()
    # numpy 1.x pickles name numpy.core.multiarray; numpy 2 must still read them.
    item = {
        "id": 0,
        "video_file": "videos/a.mp4",
        "frame_label": np.array([0, 0, 1]),
        "seq_len": 3,
        "name": "a",
    }
    old = pickle.dumps([item], protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in old
    path.write_bytes(old)
    assert read_phases(path)["frame_label"][0].tolist() == [0, 0, 1]


# --- RULSTM actions.csv --------------------------------------------------------------------------------------


def test_rulstm_actions_with_and_without_header(tmp_path, epic_classes):
    verbs, nouns = epic_classes
    rows = "0,0,0,take tap\n3,0,100,take wrap:plastic\n"
    with_header = tmp_path / "actions.csv"
    with_header.write_text("id,verb,noun,action\n" + rows)
    without = tmp_path / "actions_epic100.csv"
    without.write_text(rows)
    for path in (with_header, without):
        table = read_rulstm_actions(path, verb_classes=verbs, noun_classes=nouns)
        assert table["action"].tolist() == ["take tap", "take wrap:plastic"]
    without.write_text(rows + "4,0,300,take nothing\n")
    fails_at(lambda: read_rulstm_actions(without, verb_classes=verbs, noun_classes=nouns), without, 3, "noun")


# --- EgoClip / HierVL / EgoMCQ -----------------------------------------------------------------------------

EGOCLIP_HEADER = "video_uid\tvideo_dur\tnarration_source\tnarration_ind\tnarration_time\tclip_start\tclip_end\tclip_text\ttag_verb\ttag_noun"
EGOCLIP_ROW = "v1\t100.0\tnarration_pass_1\t0\t5.0\t4.5\t5.5\t#C C picks a bag of clothes from the floor\t[93]\t[192, 115, 12]"


def test_egoclip_by_name_with_unnamed_index_column(tmp_path):
    path = tmp_path / "egoclip_update.csv"
    # pandas' to_csv(sep='\t') writes an unnamed index column first (CF's egoclip_update.csv)
    path.write_text(f"\t{EGOCLIP_HEADER}\n0\t{EGOCLIP_ROW}\n1\t{EGOCLIP_ROW.replace('v1', 'v2')}\n")
    table = read_egoclip(path, {"v1", "v2"}, num_verbs=118, num_nouns=582)
    assert list(table.columns) == EGOCLIP_HEADER.split("\t")
    assert table["tag_noun"][0] == [192, 115, 12] and table["clip_text"][1].startswith("#C C picks")
    fails_at(lambda: read_egoclip(path, {"v1"}), path, 3, "video_uid")
    fails_at(lambda: read_egoclip(path, num_verbs=90), path, 2, "tag_verb")
    path.write_text(f"{EGOCLIP_HEADER}\n{EGOCLIP_ROW.replace('[93]', '[93')}\n")
    fails_at(lambda: read_egoclip(path), path, 2, "tag_verb")
    path.write_text(f"{EGOCLIP_HEADER}\n{EGOCLIP_ROW.replace('4.5', '6.5')}\n")
    fails_at(lambda: read_egoclip(path), path, 2, "clip_end")


def test_summary_hierarchy_and_egomcq(tmp_path):
    path = tmp_path / "summary_clips_hierarchy_full.json"
    entry = {
        "summary_start": 0.0,
        "summary_end": 10.0,
        "clip_start": [1.0, 4.0],
        "clip_end": [2.0, 5.0],
        "clip_text": ["#C C a", "#C C b"],
        "tag_verb": ["[1]", "[2]"],
        "tag_noun": [[3], [4, 5]],
    }
    path.write_text(json.dumps({"#Summary C cooks": entry}))
    hierarchy = read_summary_hierarchy(path)
    assert hierarchy["#Summary C cooks"].tag_verb == [[1], [2]]
    path.write_text(json.dumps({"#Summary C cooks": {**entry, "clip_end": [2.0]}}))
    fails_at(lambda: read_summary_hierarchy(path), path, column='["#Summary C cooks"].clip_end')

    mcq = tmp_path / "egomcq.json"
    row = {"video_uid": "v1", "clip_start": 1.0, "clip_end": 2.0, "clip_text": "#C C a"}
    question = {"query": row, "choices": {str(i): row for i in range(5)}, "answer": 2, "types": 1}
    mcq.write_text(json.dumps({"0": question}))
    assert read_egomcq(mcq, {"v1"})[0].answer == 2
    fails_at(lambda: read_egomcq(mcq, {"v2"}), mcq, column='["0"].choices["0"].video_uid')
    broken = {**question, "choices": {**question["choices"], "3": {"clip_start": 1.0, "clip_end": 2.0}}}
    mcq.write_text(json.dumps({"0": broken}))
    fails_at(lambda: read_egomcq(mcq), mcq, column='["0"].choices["3"].video_uid')
    mcq.write_text(json.dumps({"0": {**question, "answer": 5}}))
    fails_at(lambda: read_egomcq(mcq), mcq, column='["0"].answer')
    mcq.write_text('{"0": {"query": \n  oops}')
    fails_at(lambda: read_egomcq(mcq), mcq, line=2)


# --- Charades-Ego, Ego4D LTA -------------------------------------------------------------------------------


def test_charades(tmp_path):
    classes = tmp_path / "Charades_v1_classes.txt"
    classes.write_text("c000 Holding some clothes\nc001 Putting clothes somewhere\n")
    table = read_charades_classes(classes)
    assert table["name"].tolist() == ["Holding some clothes", "Putting clothes somewhere"]
    videos = tmp_path / "CharadesEgo_v1_test_only1st.csv"
    videos.write_text(
        "id,subject,actions,length\nAB12EGO,s1,c000 0.00 3.50;c001 2.0 4.0,10.0\nCD34EGO,s2,,7.5\n"
    )
    table = read_charades(videos, {"AB12EGO", "CD34EGO"}, classes=table)
    assert table["actions"].tolist() == [[("c000", 0.0, 3.5), ("c001", 2.0, 4.0)], []]
    videos.write_text("id,subject,actions,length\nAB12EGO,s1,c000 0.00 3.50;c157 2.0 4.0,10.0\n")
    fails_at(lambda: read_charades(videos, classes=read_charades_classes(classes)), videos, 2, "actions")
    videos.write_text("id,subject,actions,length\nAB12EGO,s1,c000 0.00,10.0\n")
    fails_at(lambda: read_charades(videos), videos, 2, "actions")


def test_lta(tmp_path):
    taxonomy_path = tmp_path / "fho_lta_taxonomy.json"
    taxonomy_path.write_text(json.dumps({"verbs": ["take", "put"], "nouns": ["cup"]}))
    taxonomy = read_lta_taxonomy(taxonomy_path)
    clip = {
        "video_uid": "v",
        "clip_uid": "c1",
        "action_idx": 0,
        "action_clip_start_sec": 0.0,
        "action_clip_end_sec": 1.5,
        "verb": "take",
        "noun": "cup",
        "verb_label": 0,
        "noun_label": 0,
    }
    path = tmp_path / "fho_lta_train.json"
    path.write_text(
        json.dumps({"version": "v1", "split": "train", "clips": [clip, {**clip, "action_idx": 1}]})
    )
    # frames are read from video_uid (clip_uid only groups a clip's actions): the sheet must hold video_uid
    table = read_lta(path, {"v"}, taxonomy=taxonomy)
    assert table["action_idx"].tolist() == [0, 1] and table.attrs["split"] == "train"
    fails_at(lambda: read_lta(path, {"c1"}), path, column="clips[0].video_uid")
    path.write_text(json.dumps({"clips": [clip, {**clip, "action_idx": 1, "verb_label": 2}]}))
    fails_at(lambda: read_lta(path, taxonomy=taxonomy), path, column="clips[1].verb_label")
    path.write_text(json.dumps({"clips": [{k: v for k, v in clip.items() if k != "clip_uid"}]}))
    fails_at(lambda: read_lta(path), path, column="clips[0].clip_uid")
    path.write_text(json.dumps({"clips": [{**clip, "action_clip_end_sec": "late"}]}))
    fails_at(lambda: read_lta(path), path, column="clips[0].action_clip_end_sec")
    unlabelled = {k: v for k, v in clip.items() if k not in ("verb", "noun", "verb_label", "noun_label")}
    path.write_text(json.dumps({"clips": [unlabelled]}))
    assert read_lta(path, labelled=False)["verb_label"].tolist() == [-1]


# --- ChangeIt, phases, GTEA: broken files ----------------------------------------------------------------


def small_changeit(tmp_path: Path) -> Path:
    root = tmp_path / "changeit"
    (root / "videos").mkdir(parents=True)
    (root / "annotations" / "apple").mkdir(parents=True)
    shutil.copy(CHANGEIT / "labels.csv", root / "labels.csv")
    (root / "categories.csv").write_text(
        'DIR_NAME,ACTION_NAME,CENTERING_PARAM\napple,"Apple Peeling/Cutting",0.309\n'
    )
    (root / "videos" / "apple.csv").write_text("DdSoQsEKXkk,0.554\n5xpa-I7C9AQ,0.553\n")
    (root / "annotations" / "apple" / "DdSoQsEKXkk.fps1.csv").write_text("0,0\n1,1\n2,2\n3,3\n")
    return root


def test_changeit_broken_files(tmp_path):
    root = small_changeit(tmp_path)
    changeit = read_changeit(root, {"DdSoQsEKXkk", "5xpa-I7C9AQ"})
    assert changeit.annotations[("apple", "DdSoQsEKXkk")].tolist() == [0, 1, 2, 3]
    fails_at(lambda: read_changeit(root, {"DdSoQsEKXkk"}), root / "videos" / "apple.csv", 2, "video_id")
    annotation = root / "annotations" / "apple" / "DdSoQsEKXkk.fps1.csv"
    annotation.write_text("0,0\n1,1\nx,2\n")
    fails_at(lambda: read_changeit(root), annotation, 3, "second")
    annotation.write_text("0,0\n2,1\n")
    fails_at(lambda: read_changeit(root), annotation, 2, "second")
    annotation.write_text("0,0\n1,7\n")
    fails_at(lambda: read_changeit(root), annotation, 2, "label")
    annotation.write_text("0,0,1\n")
    fails_at(lambda: read_changeit(root), annotation, 1)
    annotation.unlink()
    stray = root / "annotations" / "apple" / "unknownvid.fps1.csv"
    stray.write_text("0,0\n")
    fails_at(lambda: read_changeit(root), stray)


def test_phases_pickle(tmp_path):
    path = tmp_path / "val.pkl"
    item = {
        "id": 0,
        "video_file": "videos/a.mp4",
        "frame_label": np.array([0, 1, 1]),
        "seq_len": 3,
        "name": "a",
    }
    path.write_bytes(pickle.dumps([item]))
    assert read_phases(path, {"a"})["seq_len"].tolist() == [3]
    fails_at(lambda: read_phases(path, {"b"}), path, column="[0].name")
    path.write_bytes(pickle.dumps([{**item, "seq_len": 4}]))
    fails_at(lambda: read_phases(path), path, column="[0].frame_label")
    path.write_bytes(pickle.dumps([{k: v for k, v in item.items() if k != "video_file"}]))
    fails_at(lambda: read_phases(path), path, column="[0].video_file")
    # PennAction layout: (videos, action_to_indices)
    path.write_bytes(pickle.dumps(([item], {"bench_press": [0]})))
    assert len(read_phases(path)) == 1


def test_gtea_broken_files(tmp_path):
    root = tmp_path / "gtea"
    (root / "groundTruth").mkdir(parents=True)
    (root / "splits").mkdir()
    (root / "mapping.txt").write_text("0 background\n1 take_cup\n")
    (root / "groundTruth" / "S1_Tea_C1.txt").write_text("background\ntake_cup\ntake_cup\n")
    (root / "splits" / "train.split1.bundle").write_text("S1_Tea_C1.txt\n")
    gtea = read_gtea(root, {"S1_Tea_C1"})
    assert gtea.labels["S1_Tea_C1"].tolist() == [0, 1, 1] and gtea.splits == {"train.split1": ["S1_Tea_C1"]}
    fails_at(lambda: read_gtea(root, {"other"}), root / "groundTruth" / "S1_Tea_C1.txt")
    (root / "splits" / "test.split1.bundle").write_text("S1_Tea_C1.txt\nS2_Tea_C1.txt\n")
    fails_at(lambda: read_gtea(root), root / "splits" / "test.split1.bundle", 2, "video")
    (root / "groundTruth" / "S1_Tea_C1.txt").write_text("background\npour_milk\n")
    fails_at(lambda: read_gtea(root), root / "groundTruth" / "S1_Tea_C1.txt", 2, "action")


def test_read_annotations_rejects_unknown_keys_and_cross_checks(tmp_path, epic_classes):
    with pytest.raises(ValueError, match="egoclipp"):
        read_annotations({"egoclipp": "x"}, set())
    test = write_epic(tmp_path, EPIC_ROWS)
    sentences = tmp_path / "EPIC_100_retrieval_test_sentence.csv"
    sentences.write_text("narration_id,narration\nP01_11_0,take plate\nP01_11_1,put down plate\n")
    relevancy = tmp_path / "caption_relevancy_EPIC_100_retrieval_test.pkl"
    relevancy.write_bytes(pickle.dumps(np.zeros((3, 2))))
    config = {
        "epic_verb_classes": str(EPIC / "EPIC_100_verb_classes.csv"),
        "epic_noun_classes": str(EPIC / "EPIC_100_noun_classes.csv"),
        "epic_retrieval_test": str(test),
        "epic_retrieval_sentences": str(sentences),
        "epic_relevancy": str(relevancy),
    }
    out = read_annotations(config, {"P01_11"})
    assert out["epic_relevancy"].shape == (3, 2)
    fails_at(lambda: read_annotations(config, {"P01_12"}), test, 2, "video_id")
    relevancy.write_bytes(pickle.dumps(np.zeros((3, 3))))
    error = fails_at(lambda: read_annotations(config, {"P01_11"}), relevancy)
    assert "expected 3 retrieval clips x 2 sentences" in str(error)
