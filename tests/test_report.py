"""The HTML report: every section kind renders, a flagged output adds a section, and Chromium shows it.

Screenshots are written to $EGOFLOW_SCREENSHOT_DIR when set (CI artifacts), else next to the test's files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import h5py
import lmdb
import numpy as np
import pytest

from egoflow.report import build_report
from tests.videos_synth import make_video
from tests.workflow_run import clone_run, reference_run, run_tiny

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def write_tree(root: Path) -> list[dict]:
    """A small results tree with one file of every kind, and the sections that show it."""
    (root / "results/videos").mkdir(parents=True)
    (root / "videos").mkdir()
    video = make_video(root / "videos/v1.mp4", seconds=2.0, size="64x48", fps=10)
    (root / "results/videos/manifest.tsv").write_text(
        "row_type\tvideo_uid\tpath\tduration_sec\nvideo\tv1\t" + str(video) + "\t2.0\n"
    )
    (root / "results/videos/rejected.tsv").write_text(
        "video_uid\tpath\tstage\treason\nv9\t/x.mp4\tprobe\tno video stream\n"
    )
    (root / "narrations.csv").write_text(
        "video_uid\tclip_start\tclip_end\tclip_text\nv1\t0.2\t1.5\t#C C opens the jar\nv1\t0.5\t1.0\t#C C unknown\n"
    )
    (root / "results/text").mkdir()
    states = {
        "#C C opens the jar": {
            "Before": "The jar is closed.",
            "After": "The jar is open.",
            "CF 1": "The jar is stuck.",
        }
    }
    (root / "results/text/states.json").write_text(json.dumps(states))
    (root / "results/features/lmdb").mkdir(parents=True)
    with h5py.File(root / "results/features/text.h5", "w") as h5:
        h5["embeddings"] = np.zeros((5, 8), np.float32)
    env = lmdb.open(str(root / "results/features/lmdb"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"v1_frame_0000000001.jpg", np.ones(8, np.float32).tobytes())
    env.close()
    (root / "results/metrics/run1").mkdir(parents=True)
    (root / "results/metrics/run1/zeroshot.json").write_text(json.dumps({"recall@1": 0.25, "mAP": 0.5}))
    (root / "results/benchmarks/resize_chunk").mkdir(parents=True)
    bench = "s\th:m:s\tmax_rss\n{}\t0:00:01\t{}\n"
    (root / "results/benchmarks/resize_chunk/v1.tsv").write_text(bench.format(1.5, 120.0))
    (root / "results/benchmarks/demo_world.tsv").write_text(bench.format(3.0, 300.0))
    (root / "results/train").mkdir()
    (root / "results/train/log.csv").write_text("step,loss,val_loss\n0,2.0,2.2\n1,1.5,1.9\n2,1.1,1.7\n")
    return [
        {
            "title": "Video manifest",
            "kind": "table",
            "files": ["results/videos/manifest.tsv"],
            "category": "Videos",
        },
        {"title": "Rejected videos", "files": ["results/videos/rejected.tsv"], "category": "Videos"},
        {
            "title": "Sample frames",
            "kind": "frames_texts",
            "files": {
                "states": "results/text/states.json",
                "narrations": "narrations.csv",
                "manifest": "results/videos/manifest.tsv",
            },
            "category": "Text",
        },
        {
            "title": "Feature stores",
            "kind": "stores",
            "files": ["results/features/**/*.h5", "results/features/**/data.mdb"],
            "category": "Features",
        },
        {"title": "Metrics", "files": ["results/metrics/{run}/{task}.json"], "category": "Metrics"},
        {"title": "Loss", "kind": "curves", "files": ["results/train/log.csv"], "category": "Training"},
        {"title": "Not there", "files": ["results/nothing/*.tsv"], "category": "Training"},
        {
            "title": "Per-rule runtimes",
            "kind": "runtimes",
            "files": ["results/benchmarks/**/*.tsv"],
            "category": "Runtimes",
        },
    ]


def section_html(page: str, title: str) -> str:
    match = re.search(rf"<section [^>]*><h3>{re.escape(title)}</h3>(.*?)</section>", page, re.S)
    assert match, f"section {title!r} missing"
    return match.group(1)


def test_every_section_kind_renders(tmp_path):
    sections = write_tree(tmp_path)
    out = tmp_path / "results/report/index.html"
    build_report(sections, out, root=tmp_path, title="test report")
    page = out.read_text()

    assert "v1" in section_html(page, "Video manifest") and "<td" in section_html(page, "Video manifest")
    assert "no video stream" in section_html(page, "Rejected videos")
    frames = section_html(page, "Sample frames")
    assert (
        frames.count('src="data:image/png;base64,') == 2
    )  # start and end frame of the one narration with texts
    assert "The jar is closed." in frames and "The jar is stuck." in frames and "unknown" not in frames
    stores = section_html(page, "Feature stores")
    assert "embeddings" in stores and "5×8" in stores and "float32" in stores
    assert re.search(r"<td>entries</td><td class=\"num\">1</td>", stores)
    metrics = section_html(page, "Metrics")
    assert "recall@1" in metrics and "0.25" in metrics
    assert "<polyline" in section_html(page, "Loss")
    assert "not produced by this run" in section_html(page, "Not there")
    runtimes = section_html(page, "Per-rule runtimes")
    assert "<svg" in runtimes and runtimes.index("demo_world") < runtimes.index(
        "resize_chunk"
    )  # longest first
    # Categories in the order given, each once.
    assert re.findall(r'<h2 class="category"[^>]*>([^<]+)</h2>', page) == [
        "Videos",
        "Text",
        "Features",
        "Metrics",
        "Training",
        "Runtimes",
    ]


def test_embedded_frames_are_valid_png(tmp_path):
    from egoflow.report.png import encode_png

    rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    data = encode_png(rgb)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (6, 4)
    # Decode it back with ffmpeg's PNG decoder (PyAV), independent of our encoder.
    import av

    path = tmp_path / "x.png"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    np.testing.assert_array_equal(frame.to_ndarray(format="rgb24"), rgb)


def test_bad_section_declaration_names_the_key(tmp_path):
    from egoflow.errors import InputError

    with pytest.raises(InputError, match="unknown section key"):
        build_report([{"title": "x", "files": [], "colour": "red"}], tmp_path / "r.html", root=tmp_path)
    with pytest.raises(InputError, match="kind 'pie'"):
        build_report([{"title": "x", "kind": "pie"}], tmp_path / "r.html", root=tmp_path)


def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        message = (
            "REPORT SCREENSHOT SKIPPED: Debian's chromium is not installed (.ci/slurm-setup.sh installs it)"
        )
        print(f"\n{'!' * 78}\n!!! {message}\n{'!' * 78}", file=sys.stderr)
        pytest.skip(message)
    return binary


def screenshot(html: Path, png: Path, profile: Path, *, height: int) -> str:
    """Render `html` in headless Chromium to `png`; returns the DOM Chromium built."""
    base = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size=1280,{height}"]
    shot = subprocess.run(
        [*base, f"--screenshot={png}", html.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    dom = subprocess.run([*base, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("EGOFLOW_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_chromium_renders_every_section(tmp_path):
    sections = write_tree(tmp_path / "tree")
    out = tmp_path / "tree/results/report/index.html"
    build_report(sections, out, root=tmp_path / "tree")
    png = screenshot_dir(tmp_path) / "report_sections.png"
    dom = screenshot(out, png, tmp_path / "chromium", height=2600)
    for title in (
        "Video manifest",
        "Sample frames",
        "Feature stores",
        "Metrics",
        "Loss",
        "Per-rule runtimes",
    ):
        assert f"<h3>{title}</h3>" in dom
    assert dom.count("<img") >= 2 and dom.count("<svg") >= 2
    assert png_size(png) == (1280, 2600)
    print(f"screenshot: {png}")


@pytest.mark.slow
def test_workflow_report_and_a_flagged_output_adds_a_section(tmp_path_factory, tmp_path):
    done = reference_run(tmp_path_factory)
    page = (done / "results/report/index.html").read_text()
    for title in (
        "Video manifest",
        "Rejected videos",
        "Sample frames and their state texts",
        "Feature stores",
        "Per-rule runtimes",
    ):
        assert f"<h3>{title}</h3>" in page, title
    assert page.count('src="data:image/png;base64,') >= 2, "no sample frames"
    assert "not produced by this run" not in section_html(page, "Feature stores")
    # The results table and its per-task figure (the metrics stage's report() outputs).
    assert "\tepic_mir\t" in (done / "results/metrics/summary.tsv").read_text()
    assert "<td>map_avg</td>" in section_html(page, "Results table")
    assert 'src="data:image/svg+xml' in section_html(page, "Results per task")

    # A later stage only declares a flagged output; the report picks it up without any change to its code.
    workdir = clone_run(done, tmp_path / "run")
    (workdir / "later_stage.smk").write_text(LATER_STAGE)
    run_tiny(workdir, "--cores", "2", "-s", "later_stage.smk", "results/train/tiny/log.csv")
    run_tiny(workdir, "--cores", "2", "-s", "later_stage.smk", "results/report/index.html")
    page_path = workdir / "results/report/index.html"
    assert "<polyline" in section_html(page_path.read_text(), "Training loss")

    # Snakemake's own report takes the same report()-flagged outputs.
    run_tiny(workdir, "--report", "smk_report.zip")
    assert (workdir / "smk_report.zip").stat().st_size > 0
    png = screenshot_dir(tmp_path) / "report_workflow.png"
    dom = screenshot(page_path, png, tmp_path / "chromium", height=7000)
    assert "<h3>Training loss</h3>" in dom and "<h3>Sample frames and their state texts</h3>" in dom
    print(f"screenshot: {png}")


LATER_STAGE = """\
include: "Snakefile"


rule train_curve:
    output:
        report(
            "results/train/{run}/log.csv",
            category="Training",
            labels={"title": "Training loss", "kind": "curves"},
        ),
    log:
        "logs/train_curve/{run}.log",
    run:
        with open(output[0], "w") as out:
            out.write("step,loss\\n" + "".join(f"{s},{2.0 / (s + 1):.4f}\\n" for s in range(20)))
"""


def test_chromium_renders_the_results_table_and_figure(tmp_path):
    # The metrics stage's two flagged outputs, as the workflow passes them: the table and its per-task figure.
    from egoflow.metrics.summary import write_summary
    from egoflow.report.results import results_figure

    root = tmp_path / "tree"
    rows = {
        "demo": {"map_v2t": 31.5, "map_t2v": 27.0},
        "demo-random-init": {"map_v2t": 19.3, "map_t2v": 15.4},
    }
    paths = []
    for run, metrics in rows.items():
        path = root / f"results/evaluate/{run}/epic_mir.json"
        path.parent.mkdir(parents=True)
        path.write_text(
            json.dumps({"system": "cf", "run": run, "task": "epic_mir", "split": "test", "metrics": metrics})
        )
        paths.append(path)
    write_summary(paths, root / "results/metrics/summary.tsv")
    results_figure(root / "results/metrics/summary.tsv", root / "results/metrics/summary.svg")
    sections = [
        {
            "title": "Results table",
            "kind": "table",
            "files": ["results/metrics/summary.tsv"],
            "category": "Metrics",
        },
        {
            "title": "Results per task",
            "kind": "figure",
            "files": ["results/metrics/summary.svg"],
            "category": "Metrics",
        },
    ]
    out = root / "results/report/index.html"
    build_report(sections, out, root=root)
    page = out.read_text()
    assert "map_v2t" in section_html(page, "Results table") and "31.5" in section_html(page, "Results table")
    assert 'src="data:image/svg+xml' in section_html(page, "Results per task")
    png = screenshot_dir(tmp_path) / "report_results.png"
    dom = screenshot(out, png, tmp_path / "chromium", height=900)
    assert (
        "<h3>Results table</h3>" in dom and "<h3>Results per task</h3>" in dom and "demo-random-init" in dom
    )
    assert png_size(png) == (1280, 900)
    print(f"screenshot: {png}")
