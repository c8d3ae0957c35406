"""The results table gathers any stage's metrics JSON (system, run, task, split, metrics) and skips the rest; its
figure has one panel per task with the runs side by side."""

import json

import pytest
import yaml

from egoflow.errors import InputError
from egoflow.metrics.summary import gather_metrics, write_summary
from egoflow.report.results import results_figure
from tests.workflow_run import TINY, clone_run, planned_jobs, reference_run, run_tiny, write_overlay


def row(system, run, task, metrics, split="test", **extra):
    return {"system": system, "run": run, "task": task, "split": split, "metrics": metrics, **extra}


def test_summary_rows_from_any_stage(tmp_path):
    files = {
        "evaluate/demo/epic_mir.json": row(
            "counterfactual", "demo", "epic_mir", {"map_v2t": 20.5, "map_t2v": 15}
        ),
        "anticipation/a/scores.json": row(
            "sgear", "a", "ek100", {"top5": {"verb": 30.0}, "note": "x", "ok": True}
        ),
        "features/other.json": {"not": "metrics"},
    }
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        paths.append(path)
    out = tmp_path / "metrics/summary.tsv"
    rows = write_summary(paths, out)
    # Nested metrics flatten with dots; strings and booleans are not metrics; the plain JSON is skipped.
    assert rows == [
        ("counterfactual", "demo", "epic_mir", "test", "map_t2v", 15.0),
        ("counterfactual", "demo", "epic_mir", "test", "map_v2t", 20.5),
        ("sgear", "a", "ek100", "test", "top5.verb", 30.0),
    ]
    lines = out.read_text().splitlines()
    assert lines[0] == "system\trun\ttask\tsplit\tmetric\tvalue"
    assert lines[2] == "counterfactual\tdemo\tepic_mir\ttest\tmap_v2t\t20.5"

    # A second run of the same task joins the same panel.
    more = tmp_path / "evaluate/demo-random-init/epic_mir.json"
    more.parent.mkdir(parents=True)
    more.write_text(json.dumps(row("counterfactual", "demo-random-init", "epic_mir", {"map_v2t": 9.0})))
    write_summary([*paths, more], out)
    panels = results_figure(out, tmp_path / "metrics/summary.svg")
    assert panels == ["counterfactual / epic_mir (test)", "sgear / ek100 (test)"]
    svg = (tmp_path / "metrics/summary.svg").read_text()
    assert svg.count("<g ") == 2 and "demo-random-init" in svg and svg.startswith("<svg")


def test_summary_bad_json_names_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match="bad.json"):
        gather_metrics([bad])
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(row("s", "r", "t", [1, 2])))
    with pytest.raises(InputError, match="metrics must be a mapping"):
        gather_metrics([odd])


def test_summary_plans_nothing_after_a_run_and_only_a_new_runs_jobs(tmp_path_factory, tmp_path):
    # The shared tiny `all` run made the table; asking for it again plans nothing. A new pretraining run added to
    # the evaluated runs plans that run's training and evaluations, then the table again: nothing else.
    workdir = clone_run(reference_run(tmp_path_factory), tmp_path / "run")
    assert planned_jobs(run_tiny(workdir, "-n", "results/metrics/summary.tsv")) == {}
    table = (workdir / "results/metrics/summary.tsv").read_text()
    assert "\tdemo\tepic_mir\ttest\tmap_avg\t" in table and "\tdemo-finetuned\tepic_mir\t" in table
    assert "\tdemo-random-init\tcharades_ego\ttest\tmap\t" in table
    config = yaml.safe_load((workdir / "config/config.yaml").read_text())
    runs = {**config["pretrain"]["runs"], "extra": {"train": {"seed": 1}}}
    overlay = write_overlay(
        workdir, {"pretrain": {"runs": runs}, "evaluate": {"runs": [*config["evaluate"]["runs"], "extra"]}}
    )
    tasks = config["evaluate"]["tasks"]
    jobs = planned_jobs(
        run_tiny(workdir, "-n", "results/metrics/summary.tsv", "--configfile", *TINY[1:], overlay)
    )
    assert jobs == {
        "pretrain_model": 1,
        "evaluate_zeroshot": sum(t in ("egomcq", "summarymcq") for t in tasks),
        "evaluate_retrieval": sum(t in ("epic_mir", "charades_ego") for t in tasks),
        "metrics_summary": 1,
    }, jobs
