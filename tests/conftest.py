"""Suite-wide check: nothing the tests do writes into the repository.

Tests work in tmp_path: workflow runs in scratch copies (tests/workflow_run.py), SLURM job logs in the test
cluster's state folder. `git status` (changed, untracked and ignored entries) is read when the session starts
and when it ends; anything new fails the run and is named in the summary (so would a file someone creates by
hand meanwhile). Caches (__pycache__, .pytest_cache, .ruff_cache) do not count. With pytest-xdist the
controller checks the whole run once (workers skip the check).

`make test` runs the suite on two pytest-xdist workers (`--dist loadgroup`): most workflow tests wait on
subprocesses a good part of the time. Tests that share one mutable resource run on one worker: those using
the wide-world workdir (`wide_run`) form the group "wide"; modules that start or configure the SLURM test
cluster declare the group "slurm" themselves.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What Python, pytest and the linters write next to the code (all git-ignored): not outputs of the suite.
CACHES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".venv"}
BEFORE = pytest.StashKey[set]()
WRITTEN = pytest.StashKey[list]()
UNCHECKED = pytest.StashKey[str]()


def repo_entries() -> set[str]:
    """`git status` lines of the working tree: every changed or untracked file, every ignored folder or file."""

    def status(*args: str) -> list[str]:
        out = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(ROOT), "status", "--porcelain=v1", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        return out.splitlines()

    # One line per file for tracked and untracked entries; ignored entries folded to their top folder
    # (listing every file of .venv/ would take seconds).
    entries = status("--untracked-files=all")
    entries += [e for e in status("--ignored", "--untracked-files=normal") if e.startswith("!! ")]
    return {e for e in entries if not is_cache(e[3:])}


def is_cache(path: str) -> bool:
    parts = path.strip('"').rstrip("/").split("/")
    return bool(CACHES.intersection(parts)) or parts[-1].endswith(".egg-info")


# tryfirst: xdist's worker reads the groups in its own collection hook, which would otherwise run first. Note:
# under pytest 9 xdist 3.8's grouping has no effect at all (it renames item._nodeid, which pytest 9 no longer
# reads), so with pytest 9 both workers may build a wide world; pytest 8.4 groups as intended.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tests import workflow_run

    for item in items:
        module = getattr(item, "module", None)
        if module is not None and getattr(module, "wide_run", None) is workflow_run.wide_run:
            item.add_marker(pytest.mark.xdist_group("wide"))


def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller checks the whole run
    try:
        session.config.stash[BEFORE] = repo_entries()
    except (OSError, subprocess.SubprocessError) as error:
        session.config.stash[UNCHECKED] = f"`git status` failed in {ROOT} ({error})"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(BEFORE, None)
    if before is None:
        return
    try:
        written = sorted(repo_entries() - before)
    except (OSError, subprocess.SubprocessError) as error:
        written = [f"(`git status` failed at the end of the session: {error})"]
    if written:
        session.config.stash[WRITTEN] = written
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    written = config.stash.get(WRITTEN, None)
    if written:
        terminalreporter.write_sep("=", "FAILED: the tests wrote into the repository", red=True, bold=True)
        terminalreporter.write_line(f"new `git status` entries in {ROOT} since the session started:")
        for entry in written:
            terminalreporter.write_line(f"  {entry}", red=True)
        terminalreporter.write_line(
            "Tests must write under tmp_path (or the SLURM state folder), never here."
        )
    unchecked = config.stash.get(UNCHECKED, None)
    if unchecked:
        terminalreporter.write_sep("!", f"repository write check NOT run: {unchecked}", yellow=True)
