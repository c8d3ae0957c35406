"""Every command README.md, config/README.md and docs/*.md show works as written.

Commands are the lines of fenced ```bash blocks and inline code that starts with `snakemake`,
`.venv/bin/snakemake`, `make` or `.venv/bin/egoflow`. Each is checked without running anything long:
- snakemake: run with --dry-run added, in a scratch copy of the workflow (the demo world made tiny there), so a
  target swallowed by --configfile or a misspelt option fails;
- make: `make -n`; egoflow: its argument parser;
- `export` sets the environment for the rest of its block;
- commands that need a running SLURM cluster (sinfo, sacct, squeue, scancel, and `sudo` with the scripts that
  start and stop the test cluster) are checked for the script's existence and shell syntax only;
  tests/test_slurm.py runs them for real.
A command of any other kind fails the test, so that a new one gets a check here.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.test_workflow_demo import real_data
from tests.workflow_run import ROOT, SNAKEMAKE, copy_workflow

DOCS = [ROOT / "README.md", ROOT / "config/README.md", *sorted((ROOT / "docs").glob("*.md"))]
SLURM_CLIENTS = {"sinfo", "sacct", "squeue", "scancel"}
INLINE = re.compile(r"`((?:\.venv/bin/)?(?:snakemake|egoflow) [^`]+|make [a-z-]+)`")
FENCE = re.compile(r"^```bash\n(.*?)^```", flags=re.M | re.S)


def documented_commands() -> list[tuple[str, list[list[str]]]]:
    """(file:line, its commands) per fenced block or inline span; a command is its argument list."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in [*FENCE.finditer(text), *INLINE.finditer(text)]:
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", split_commands(match.group(1))))
    return found


def split_commands(script: str) -> list[list[str]]:
    """Shell text -> commands: comments dropped, lines joined at a trailing '\\', split at ';' and '&&'."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&")
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token in (";", "&&"):
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
    return [c for c in commands if c]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A scratch copy where the documented commands run: tiny demo world, the test profile, a `my-data.yaml`."""
    work = copy_workflow(tmp_path_factory.mktemp("docs") / "repo")
    config = work / "config/config.yaml"
    config.write_text(config.read_text().replace("size: small", "size: tiny", 1))
    shutil.copytree(ROOT / "tests/slurm/profile", work / "tests/slurm/profile")
    (work / "my-data.yaml").write_text(yaml.safe_dump(real_data(work.parent / "my-data")))
    return work


def check(command: list[str], env: dict, workdir: Path) -> str | None:
    """None when `command` works as written (checked as the module docstring says), else what went wrong."""
    program, args = command[0], command[1:]
    if program == "export":
        env.update(dict(a.split("=", 1) for a in args))
        return None
    if program in SLURM_CLIENTS:
        return None
    if program == "sudo":
        script = ROOT / args[0]
        if not (script.is_file() and os.access(script, os.X_OK)):
            return f"{args[0]} is not an executable file"
        syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        return syntax.stderr or None
    if program == "make":
        result = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
        return None if result.returncode == 0 else result.stdout + result.stderr
    if program.removeprefix(".venv/bin/") == "egoflow":
        from egoflow.cli import build_parser

        try:
            build_parser().parse_args(args)
        except SystemExit as exit:
            return f"egoflow rejects {args}: exit {exit.code}"
        return None
    if program.removeprefix(".venv/bin/") == "snakemake":
        # --dry-run right after the program: it cannot be swallowed by an option that takes several values.
        result = subprocess.run(
            [SNAKEMAKE, "--dry-run", *args],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, **env},
        )
        output = result.stdout + result.stderr
        return None if result.returncode == 0 else output[-3000:]
    return f"no check for {program!r}: teach tests/test_workflow_docs.py how to run it"


def test_docs_show_commands():
    where = {w.split(":")[0] for w, _ in documented_commands()}
    assert {"README.md", "config/README.md", "docs/cluster.md"} <= where


def test_splitting_keeps_options_and_drops_comments():
    script = "export A=1 B=2\nsnakemake --profile p all   # why\nsudo x.sh && export C=3; sinfo\n"
    assert split_commands(script) == [
        ["export", "A=1", "B=2"],
        ["snakemake", "--profile", "p", "all"],
        ["sudo", "x.sh"],
        ["export", "C=3"],
        ["sinfo"],
    ]


@pytest.mark.slow
def test_every_documented_command_works_as_written(workdir):
    failures, seen = [], set()
    for where, commands in documented_commands():
        env: dict[str, str] = {}  # `export` reaches the rest of its own block only
        for command in commands:
            key = (tuple(command), tuple(sorted(env.items())))
            if key in seen:
                continue
            seen.add(key)
            problem = check(command, env, workdir)
            if problem:
                failures.append(f"{where}: {shlex.join(command)}\n{problem}")
    assert failures == [], "\n\n".join(failures)
