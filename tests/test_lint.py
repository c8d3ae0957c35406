"""The workflow and the package pass their linters: snakemake --lint, snakefmt and ruff."""

import subprocess
import sys
from pathlib import Path

from tests.workflow_run import copy_workflow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_snakemake_lint_is_clean(tmp_path):
    # In a scratch copy: snakemake writes .snakemake/ where it runs.
    workdir = copy_workflow(tmp_path / "repo")
    result = subprocess.run(
        [str(BIN / "snakemake"), "--lint"], cwd=workdir, capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Congratulations, your workflow is in a good condition!" in output, output


def test_snakefmt_check():
    result = run(str(BIN / "snakefmt"), "--check", "Snakefile", "workflow")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check():
    result = run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_check():
    result = run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_script_writes_its_log():
    for script in (ROOT / "workflow" / "scripts").glob("*.py"):
        assert "snakemake.log[0]" in script.read_text(), f"{script.name} ignores its rule's log"


def test_package_never_imports_snakemake():
    for module in (ROOT / "src" / "egoflow").rglob("*.py"):
        text = module.read_text()
        assert "import snakemake" not in text and "from snakemake" not in text, module


def test_every_benchmark_runs_its_help():
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        result = run(sys.executable, str(script), "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, f"{script.name}: {result.stderr[-2000:]}"


def test_every_cli_command_has_help():
    from egoflow.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"demo-world", "text", "tiny-models", "feature-window"} <= set(commands)
    for name, parser in commands.items():
        assert parser.format_help().startswith("usage:"), name
