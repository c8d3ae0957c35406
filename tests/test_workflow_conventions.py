"""The workflow's conventions, checked on the rules Snakemake itself parsed (not on the text of the files).

- names line up: a rule in workflow/rules/<stage>.smk runs workflow/scripts/<rule>.py, logs to
  logs/<stage>/<rule>/<name>.log and benchmarks to results/benchmarks/<rule>/<name>.tsv, where <name> is `all`
  for a rule without wildcards and its wildcards joined by `_` otherwise; its outputs land in results/<stage>/
  or resources/; its stage has a package egoflow.<stage>; every script serves exactly one rule;
- resources have one owner: every rule declares mem_mb (growing with the attempt) and runtime; the SLURM
  profile names only existing rules and adds only keys that compose with them (GPUs, partitions, account);
- docs/architecture.md lists every module of the package.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.slurm_cluster import rendered_profile
from tests.workflow_run import ROOT, TINY, copy_workflow, snakemake

INSPECT = """\
include: "Snakefile"

import json as _json
import os as _os
import re as _re


def _plain(f):
    # {video_uid,<global constraint>} -> {video_uid}
    return _re.sub(r"\\{(\\w+),[^{}]*\\}", r"{\\1}", str(f))


_rules = {}
for _rule in workflow.rules:
    _rules[_rule.name] = {
        "snakefile": _os.path.relpath(_rule.snakefile, workflow.basedir),
        "script": _rule.script,
        "log": [_plain(f) for f in _rule.log],
        "benchmark": _plain(_rule.benchmark) if _rule.benchmark else None,
        "output": [_plain(f) for f in _rule.output],
        "wildcards": sorted(_rule.wildcard_names),
        "resources": sorted(k for k in _rule.resources if not k.startswith("_")),
        # mem_mb of attempts 1, 2, 3; runtime in minutes (Snakemake parsed the unit)
        "memory": [
            _rule.resources["mem_mb"].evaluate(None, attempt=a).value if "mem_mb" in _rule.resources else None
            for a in (1, 2, 3)
        ],
        "runtime": _rule.resources["runtime"].value if "runtime" in _rule.resources else None,
        "runs": not _rule.norun,
    }
with open(_os.environ["EGOFLOW_RULES_JSON"], "w") as _out:
    _json.dump(_rules, _out)
"""
# The named targets: inputs only, no job of their own (the stage names, plus `all`).
TARGETS = {"all", "demo", "annotations", "videos", "text", "features", "pretrain", "evaluate"}
TARGETS |= {"framewise", "anticipation", "states", "metrics", "report"}
# What the SLURM profile may add to a rule's own resources.
PROFILE_KEYS = {
    "gpu",
    "gpu_model",
    "cpus_per_gpu",
    "nodes",
    "slurm_partition",
    "slurm_account",
    "slurm_extra",
}


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> dict[str, dict]:
    """Every rule as Snakemake parsed it (tiny world), with the facts the conventions are about."""
    workdir = copy_workflow(tmp_path_factory.mktemp("conventions") / "repo")
    (workdir / "inspect.smk").write_text(INSPECT)
    out = workdir / "rules.json"
    snakemake(workdir, "-s", "inspect.smk", "--list-rules", *TINY, env={"EGOFLOW_RULES_JSON": str(out)})
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def jobs(rules) -> dict[str, dict]:
    """The rules that run something (not the named targets)."""
    return {name: rule for name, rule in rules.items() if rule["runs"]}


def stage_of(rule: dict) -> str:
    return Path(rule["snakefile"]).stem


def test_targets_are_the_stage_names_and_run_nothing(rules, jobs):
    stages = {p.stem for p in (ROOT / "workflow/rules").glob("*.smk")} - {"common"}
    targets = set(rules) - set(jobs)
    assert targets == TARGETS, f"targets without a job: {sorted(targets)}"
    assert stages <= targets, f"stages without a named target: {sorted(stages - targets)}"
    assert all(rules[t]["snakefile"] == "Snakefile" for t in targets)


def test_every_stage_is_a_package_module(jobs):
    for stage in {stage_of(r) for r in jobs.values()}:
        package = ROOT / "src/egoflow" / stage
        assert (package / "__init__.py").is_file() or package.with_suffix(".py").is_file(), stage


def test_every_rule_runs_the_script_named_after_it(jobs):
    for name, rule in jobs.items():
        assert rule["script"] == f"../scripts/{name}.py", f"{name} runs {rule['script']}"
    # ... and every script is some rule's (rule files not yet included in the Snakefile count too).
    rule_files = "".join(p.read_text() for p in (ROOT / "workflow/rules").glob("*.smk"))
    used = set(re.findall(r'"\.\./scripts/(\w+)\.py"', rule_files))
    scripts = {p.stem for p in (ROOT / "workflow/scripts").glob("*.py")}
    assert sorted(scripts - used) == [], "scripts that no rule runs"


def test_log_and_benchmark_paths_follow_stage_rule_wildcards(jobs):
    for name, rule in jobs.items():
        logs = rule["log"]
        assert len(logs) == 1, f"{name}: one log per job, got {logs}"
        assert is_job_file(logs[0], f"logs/{stage_of(rule)}/{name}/", ".log", rule["wildcards"]), (
            f"{name} logs to {logs[0]}"
        )
        if rule["benchmark"]:
            assert rule["benchmark"] == f"results/benchmarks/{name}/{Path(logs[0]).stem}.tsv", name


def is_job_file(path: str, folder: str, suffix: str, wildcards: list[str]) -> bool:
    """`path` is folder/<name><suffix>: <name> is `all` without wildcards, else every wildcard joined by '_'."""
    name = path.removeprefix(folder).removesuffix(suffix)
    if not path.startswith(folder) or not path.endswith(suffix) or "/" in name:
        return False
    if not wildcards:
        return name == "all"
    joined = re.fullmatch(r"(\{\w+\}_)*\{\w+\}", name)
    return bool(joined) and sorted(re.findall(r"\{(\w+)\}", name)) == wildcards


def test_outputs_land_in_the_stage_folder(jobs):
    for name, rule in jobs.items():
        stage = stage_of(rule)
        for output in rule["output"]:
            assert output.startswith((f"results/{stage}/", "resources/")), f"{name} writes {output}"


def test_every_rule_declares_growing_memory_and_a_runtime(jobs):
    for name, rule in jobs.items():
        assert {"mem_mb", "runtime"} <= set(rule["resources"]), f"{name}: declare mem_mb and runtime"
        first, second, third = rule["memory"]
        assert first < second < third, f"{name}: mem_mb=memory(MB) so that retries ask for more"
        assert isinstance(rule["runtime"], int) and rule["runtime"] > 0, (
            f"{name}: runtime {rule['runtime']!r}"
        )


@pytest.mark.parametrize("cpu_only", ["", "1"])
def test_slurm_profile_only_adds_what_composes(jobs, cpu_only):
    env = {
        "EGOFLOW_SLURM_PARTITION": "cpu",
        "EGOFLOW_SLURM_ACCOUNT": "lab",
        "EGOFLOW_SLURM_CPU_ONLY": cpu_only,
    }
    rendered = rendered_profile(env)
    per_rule = rendered.get("set-resources", {})
    assert sorted(per_rule.keys() - jobs.keys()) == [], "set-resources names rules that do not exist"
    for rule, resources in {"default-resources": rendered["default-resources"], **per_rule}.items():
        assert set(resources) <= PROFILE_KEYS, (
            f"{rule}: the rule owns {sorted(set(resources) - PROFILE_KEYS)}"
        )
    gpu_rules = {r for r, res in per_rule.items() if "gpu" in res}
    if cpu_only:
        assert gpu_rules == set(), "EGOFLOW_SLURM_CPU_ONLY=1 must ask for no GPU"
    else:
        assert {"clip_states", "text_features", "visual_features_video"} <= gpu_rules


def test_architecture_lists_every_package_module():
    text = (ROOT / "docs/architecture.md").read_text()
    table = {m.strip("`/") for m in re.findall(r"^\| `([\w/.]+)` \|", text, flags=re.M)}
    package = ROOT / "src/egoflow"
    modules = {
        p.name if p.is_dir() else p.stem for p in package.iterdir() if not p.name.startswith(("_", "."))
    }
    modules = {m for m in modules if (package / m).is_dir() or (package / f"{m}.py").is_file()}
    listed = {m.removesuffix(".py") for m in table}
    assert sorted(modules - listed) == [], "modules missing from the package table of docs/architecture.md"
    assert sorted(listed - modules) == [], "docs/architecture.md lists modules that do not exist"
