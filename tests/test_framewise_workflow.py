"""The frame-wise stage in the shared tiny `all` run: JSON rows of both tasks with their baselines, the CARL
run's final weights, and the two figures rendered in the HTML report (headless-Chromium screenshot)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from egoflow.framewise.figures import alignment_svg, dtw_path, segmentation_svg
from tests.test_framewise_features import MODEL, egovlp_release
from tests.test_report import screenshot, screenshot_dir
from tests.workflow_run import TINY, copy_workflow, dry_run_jobs, reference_run, run_tiny, write_overlay


def test_dtw_path_of_a_stretched_copy_is_monotone_and_exact():
    a = np.arange(5, dtype=float)[:, None]
    b = np.repeat(a, 2, axis=0)  # every frame twice
    cost, path = dtw_path(a, b)
    # Each b frame matches its own a frame at distance 0: cost 0, path (0,0),(0,1),(1,2),(1,3),...
    assert cost == 0.0 and path[0] == (0, 0) and path[-1] == (4, 9)
    assert all(i2 >= i1 and j2 >= j1 for (i1, j1), (i2, j2) in zip(path, path[1:], strict=False))
    assert all(a[i, 0] == b[j, 0] for i, j in path)


def test_figures_are_well_formed_svg():
    x = np.random.default_rng(0).normal(size=(12, 4))
    for svg in (
        alignment_svg(x, x[::-1], [0] * 6 + [1] * 6, [1] * 6 + [0] * 6, ("v<1>", "v&2")),
        segmentation_svg({"P01": (["a", "a", "b"], ["a", "b", "b"])}),
    ):
        root = ET.fromstring(svg)  # escapes names, parses as XML
        assert root.tag.endswith("svg") and len(root) > 3


@pytest.mark.slow
def test_tiny_run_writes_rows_and_the_report_shows_both_figures(tmp_path_factory, tmp_path):
    done = reference_run(tmp_path_factory)
    phases = json.loads((done / "results/framewise/phases/carl.json").read_text())
    assert phases["system"] == "carl" and phases["task"] == "phases" and phases["split"] == "test+val"
    for key in ("classification_accuracy@100", "progression_r2", "kendalls_tau", "retrieval_map@10"):
        assert key in phases["metrics"] and key in phases["baseline"]["random_embeddings"]
    seg = json.loads((done / "results/framewise/segmentation/carl.json").read_text())
    assert seg["task"] == "gtea_segmentation" and set(seg["metrics"]) >= {
        "acc",
        "edit",
        "f1@10",
        "f1@25",
        "f1@50",
    }
    assert (done / "results/framewise/carl/model.pt").exists()
    page = done / "results/report/index.html"
    html = page.read_text()
    for title in ("DTW alignment of two videos", "Segmentation: prediction vs ground truth"):
        assert f"<h3>{title}</h3>" in html, title
    # The figures sit below the fold of the full report: screenshot a page of the report's own <head> (its
    # styles) and the two sections as the report wrote them. After load, a probe script lists each image's
    # decoded size: 0x0 would be an SVG Chromium could not render.
    figures = re.findall(r'<section id="frame-wise-(?:dtw|segmentation)[^"]*".*?</section>', html, re.S)
    assert len(figures) == 2
    probe = (
        "<script>addEventListener('load', () => document.body.insertAdjacentHTML('beforeend', "
        "'<pre id=\"sizes\">' + [...document.images].map(i => i.naturalWidth + 'x' + i.naturalHeight)"
        ".join(' ') + '</pre>'))</script>"
    )
    sections = tmp_path / "framewise.html"
    sections.write_text(
        html[: html.index("</head>")] + "</head><body>" + "".join(figures) + probe + "</body></html>"
    )
    png = screenshot_dir(tmp_path) / "report_framewise.png"
    dom = screenshot(sections, png, tmp_path / "chromium", height=900)
    sizes = re.findall(r'<pre id="sizes">([0-9x ]+)</pre>', dom)
    drawn = [tuple(map(int, wh.split("x"))) for wh in sizes[0].split()] if sizes else []
    assert len(drawn) == 2 and all(w == 720 and h > 0 for w, h in drawn), sizes  # the SVGs are 720 wide
    assert "DTW alignment of two videos" in dom and "Segmentation: prediction vs ground truth" in dom
    print(f"screenshot: {png}")


def test_a_released_checkpoint_is_an_encoder_of_the_stage(tmp_path):
    # framewise.released.egovlp names a file in EgoVLP's layout; encoder released-egovlp plans its frame
    # features from that file (no CARL run, no text features) for the phase protocols and segmentation.
    workdir = copy_workflow(tmp_path / "repo")
    egovlp_release(tmp_path / "egovlp.pth")
    entry = {"checkpoint": str(tmp_path / "egovlp.pth"), "source": "egovlp", "num_frames": 2, "model": MODEL}
    framewise = {"encoders": ["released-egovlp"], "released": {"egovlp": entry}}
    overlay = write_overlay(workdir, {"framewise": framewise})
    targets = [
        "results/framewise/phases/released-egovlp.json",
        "results/framewise/segmentation/released-egovlp.json",
    ]
    jobs = dry_run_jobs(workdir, *targets, "--configfile", *TINY[1:], overlay)
    features = sorted(o for j in jobs if j.rule == "framewise_features" for o in j.outputs)
    assert features == [
        f"results/framewise/features/released-egovlp/{s}.h5"
        for s in ("gtea", "phases_test", "phases_train", "phases_val")
    ]
    for job in jobs:
        if job.rule.startswith("framewise_") and job.rule != "framewise_frames":
            assert str(tmp_path / "egovlp.pth") in job.inputs, job
            assert not any("text" in i for i in job.inputs), job
    assert not any(j.rule in ("framewise_carl", "pretrain_model") for j in jobs)

    # a name without an entry fails at planning time, naming both
    bad = write_overlay(workdir, {"framewise": {**framewise, "encoders": ["released-nope"]}}, "bad.yaml")
    result = run_tiny(workdir, "--dry-run", "framewise", "--configfile", *TINY[1:], bad, check=False)
    assert result.returncode != 0
    assert "'released-nope' has no entry 'nope' in framewise.released" in result.stdout + result.stderr
