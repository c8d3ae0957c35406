"""The shared input/output helpers: named-column tables, the video sheet, atomic writes."""

import os
import subprocess
import sys

import pytest

from egoflow.atomic import atomic_path, atomic_write
from egoflow.errors import InputError
from egoflow.sheet import read_sheet
from egoflow.tables import check_known, read_table


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_read_table_by_name_and_type(tmp_path):
    path = write(tmp_path / "t.csv", "b,a,extra\n2,x,keep\n3,y,\n")
    table = read_table(path, {"a": str, "b": int})
    assert list(table.columns) == ["b", "a", "extra"]
    assert table["b"].tolist() == [2, 3]
    assert table["extra"].tolist() == ["keep", ""]


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        ("a\nx\n", 1, "b", "missing column"),
        ("a,b\nx,1\ny\n", 3, None, "expected 2 fields, found 1"),
        ("a,b\nx,1\ny,one\n", 3, "b", "bad value 'one'"),
        ("a,b\nx,1\n,2\n", 3, "a", "empty value"),
    ],
)
def test_read_table_errors_name_file_line_column(tmp_path, text, line, column, reason):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(InputError) as error:
        read_table(path, {"a": str, "b": int})
    message = str(error.value)
    assert "bad.csv" in message and f"line {line}" in message and reason in message
    if column:
        assert f"column '{column}'" in message


def test_unknown_id_names_its_line(tmp_path):
    path = write(tmp_path / "ids.tsv", "video_id\tn\nv1\t1\n\nv9\t2\n")
    table = read_table(path, {"video_id": str, "n": int}, sep="\t")
    with pytest.raises(InputError, match=r"ids.tsv, line 4, column 'video_id': unknown video 'v9'"):
        check_known(table, "video_id", {"v1"}, what="video")


def test_header_less_table(tmp_path):
    path = write(tmp_path / "apple.csv", "DdSoQsEKXkk,0.554\nabc,0.1\n")
    table = read_table(path, {"video_id": str, "relevance": float}, names=["video_id", "relevance"])
    assert table["relevance"].tolist() == [0.554, 0.1]


def test_sheet_resolves_paths_and_rejects_unsafe_uids(tmp_path):
    (tmp_path / "videos").mkdir()
    path = write(tmp_path / "sheet.tsv", "video_uid\tpath\tsplit\nP01_01\tvideos/a b;'c'.mp4\ttrain\n")
    sheet = read_sheet(path)
    assert sheet.loc["P01_01", "path"] == str(tmp_path / "videos" / "a b;'c'.mp4")
    for uid in ["../escape", "a/b", ".hidden", "x..y"]:
        bad = write(tmp_path / "bad.tsv", f"video_uid\tpath\nok\tv.mp4\n{uid}\tv.mp4\n")
        with pytest.raises(InputError, match=r"bad.tsv, line 3, column 'video_uid'"):
            read_sheet(bad)


def test_sheet_rejects_duplicates(tmp_path):
    path = write(tmp_path / "sheet.tsv", "video_uid\tpath\nv\ta.mp4\nv\tb.mp4\n")
    with pytest.raises(InputError, match="duplicate video_uid 'v' \\(first on line 2\\)"):
        read_sheet(path)


def test_atomic_write_appears_only_on_success(tmp_path):
    target = tmp_path / "out" / "result.json"
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    with atomic_write(target) as handle:
        handle.write("whole")
    assert target.read_text() == "whole"


def test_atomic_directory_replaces_old_one(tmp_path):
    target = tmp_path / "store"
    for content in ("old", "new"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "data").write_text(content)
    assert (target / "data").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_killed_writer_leaves_nothing_trusted(tmp_path):
    target = tmp_path / "result.txt"
    code = (
        "import os, signal; from egoflow.atomic import atomic_write\n"
        f"with atomic_write({str(target)!r}) as f:\n"
        "    f.write('partial'); f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    process = subprocess.run([sys.executable, "-c", code], check=False)
    assert process.returncode == -9
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(".tmp-" in name for name in leftovers)
    assert os.path.getsize(tmp_path / leftovers[0]) > 0
