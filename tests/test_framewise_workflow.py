"""The frame-wise stage in the shared tiny `all` run: JSON rows of both tasks with their baselines, the CARL
run's final weights, and the two figures rendered in the HTML report (headless-Chromium screenshot)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from egoflow.framewise.figures import alignment_svg, dtw_path, segmentation_svg
from tests.test_report import screenshot, screenshot_dir
from tests.workflow_run import reference_run


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
    png = screenshot_dir(tmp_path) / "report_framewise.png"
    dom = screenshot(page, png, tmp_path / "chromium", height=7000)
    assert "DTW alignment of two videos" in dom and "Segmentation: prediction vs ground truth" in dom
    print(f"screenshot: {png}")
