"""The video stage as a user runs it: `snakemake videos` on the demo world and on a sheet of edge cases."""

import pandas as pd
import pytest

from egoflow.features.lmdb_store import read_meta
from tests.videos_synth import make_bad_files, make_vfr, make_video, write_sheet
from tests.workflow_run import TINY, copy_workflow, planned_jobs, snakemake, write_overlay

VIDEO_RULES = {"probe_video", "resize_chunk", "video_manifest", "videos"}


def workdir(tmp_path):
    return copy_workflow(tmp_path / "work")


def check_manifest(work, uids):
    manifest = pd.read_csv(work / "results/videos/manifest.tsv", sep="\t")
    videos = manifest[manifest.row_type == "video"].set_index("video_uid")
    assert sorted(videos.index) == sorted(uids)
    for uid, video in videos.iterrows():
        chunks = manifest[(manifest.row_type == "chunk") & (manifest.video_uid == uid)]
        assert chunks.chunk_id.tolist() == list(range(int(video.num_chunks)))
        assert chunks.num_frames.sum() == video.num_frames
        assert chunks.duration_sec.sum() == pytest.approx(video.duration_sec, abs=1 / video.fps)
        assert all((work / "results/videos" / p).is_file() for p in chunks.path)
        log = (work / f"logs/videos/resize_chunk/{uid}.log").read_text()
        assert "x real time" in log and "chunk(s)" in log  # progress and timing per video
    return manifest


def test_dry_run_plans_only_the_video_stage(tmp_path):
    work = workdir(tmp_path)
    jobs = planned_jobs(snakemake(work, *TINY, "-n", "videos"))
    assert set(jobs) == VIDEO_RULES | {"demo_world"}
    assert jobs["probe_video"] == jobs["resize_chunk"] > 0 and jobs["video_manifest"] == 1


@pytest.mark.slow
def test_demo_world(tmp_path):
    work = workdir(tmp_path)
    snakemake(work, "videos", *TINY)
    sheet = pd.read_csv(work / "resources/demo/tiny/sheet.tsv", sep="\t")
    manifest = check_manifest(work, sheet.video_uid)
    assert (manifest.row_type == "chunk").sum() > len(sheet)  # 4 s chunks in tiny.yaml: several per video
    assert (work / "results/videos/rejected.tsv").read_text().strip() == "video_uid\tpath\tstage\treason"


@pytest.mark.slow
def test_bad_inputs_skip_and_fail(tmp_path):
    work = workdir(tmp_path)
    vids = tmp_path / "vids"
    vids.mkdir()
    good = {"odd_name": make_video(vids / "a b;c'q\"é.mp4", seconds=3), "vfr": make_vfr(vids / "vfr.mp4")}
    bad = {f"bad{i}": path for i, path in enumerate(make_bad_files(vids / "bad").values())}
    write_sheet(work / "sheet.tsv", {**good, **bad})
    overlay = {"videos": {"sheet": "sheet.tsv", "on_error": "skip", "chunks": {"size": 96, "chunk_sec": 2}}}
    snakemake(work, "videos", *TINY, write_overlay(work, overlay))
    check_manifest(work, good)
    rejected = pd.read_csv(work / "results/videos/rejected.tsv", sep="\t").set_index("video_uid")
    assert sorted(rejected.index) == sorted(bad)
    for (uid, path), kind in zip(bad.items(), make_bad_files(tmp_path / "kinds"), strict=True):
        assert rejected.loc[uid, "path"] == str(path) and kind.strip() in rejected.loc[uid, "reason"]

    # Later stages leave a rejected video out instead of failing on it.
    snakemake(work, "results/features/visual/lmdb", *TINY, write_overlay(work, overlay))
    assert sorted(read_meta(work / "results/features/visual/lmdb")["videos"]) == sorted(good)

    # on_error: fail stops the run, naming the file and the reason.
    write_sheet(work / "sheet.tsv", {"odd_name": good["odd_name"], "audio": bad["bad5"]})
    overlay["videos"]["on_error"] = "fail"
    result = snakemake(work, "videos", *TINY, write_overlay(work, overlay), check=False)
    assert result.returncode != 0
    log = (work / "logs/videos/probe_video/audio.log").read_text()
    assert f"{bad['bad5']}: audio only: no video stream" in log
