"""The demo world is one switch, not wiring: demo.size alone moves every input, and a config that points at real
data never plans the world (no demo_world rule, egoflow.demo never even imported)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.workflow_run import ROOT, copy_workflow, dry_run_jobs, snakemake, write_overlay


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("demo") / "repo")


def test_tiny_overlay_is_the_size_and_its_chunk_settings():
    tiny = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    assert tiny["demo"] == {"size": "tiny"}
    assert "annotations" not in tiny and "sheet" not in tiny["videos"], "paths follow demo.size by themselves"


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_demo_size_alone_moves_every_input(workdir, size):
    overlay = write_overlay(workdir, {"demo": {"size": size}}, name=f"{size}.yaml")
    jobs = dry_run_jobs(workdir, "annotations", "videos", "--configfile", "config/config.yaml", overlay)
    (check,) = [j for j in jobs if j.rule == "check_annotations"]
    assert check.inputs and all(f.startswith(f"resources/demo/{size}/annotations/") for f in check.inputs)
    (world,) = [j for j in jobs if j.rule == "demo_world"]
    assert f"resources/demo/{size}/sheet.tsv" in world.outputs
    # The sheet the world will write is planned in memory: one probe per planned video.
    probes = [j for j in jobs if j.rule == "probe_video"]
    assert len(probes) == len([f for f in world.outputs if f.endswith(".mp4")]) > 0


def real_data(folder: Path) -> dict:
    """A config overlay naming files outside the demo folder (placeholders: a dry run only checks they exist)."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    annotations = {}
    for key, path in config["annotations"].items():
        target = folder / path.removeprefix("{demo}/")
        if Path(path).suffix:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        else:
            target.mkdir(parents=True, exist_ok=True)
        annotations[key] = str(target)
    for split in ("train", "val", "test"):  # the CARL-layout splits the frame-wise stage reads
        (Path(annotations["phases"]) / f"{split}.pkl").touch()
    (folder / "clips").mkdir()
    for uid in ("cam_01", "cam_02"):
        (folder / "clips" / f"{uid}.mp4").touch()
    (folder / "sheet.tsv").write_text("video_uid\tpath\ncam_01\tclips/cam_01.mp4\ncam_02\tclips/cam_02.mp4\n")
    return {"videos": {"sheet": str(folder / "sheet.tsv")}, "annotations": annotations}


def test_real_data_never_plans_the_demo_world(workdir, tmp_path):
    overlay = write_overlay(workdir, real_data(tmp_path / "data"), name="real.yaml")
    config = ["--configfile", "config/config.yaml", overlay]
    rules = snakemake(workdir, "--list-rules", *config).stdout.split()
    assert "demo_world" not in rules and "check_annotations" in rules

    jobs = dry_run_jobs(workdir, "all", *config)
    assert {j.rule for j in jobs} >= {"check_annotations", "probe_video", "report_html"}
    touched = [f for j in jobs for f in j.inputs + j.outputs if "resources/demo" in f]
    assert touched == [], f"the real-data plan touches the demo world: {touched[:5]}"
    assert sum(j.rule == "probe_video" for j in jobs) == 2

    # The parse never loads egoflow.demo, so plan_world cannot have run.
    imports = snakemake(workdir, "--list-rules", *config, env={"PYTHONPROFILEIMPORTTIME": "1"}).stderr
    assert "egoflow.sheet" in imports, "no import log"
    assert "egoflow.demo" not in imports
