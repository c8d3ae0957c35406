"""Run the workflow as a user would, in a scratch copy of the repository (never touching this checkout's results)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = ["--configfile", "config/config.yaml", "config/tiny.yaml"]


def copy_workflow(dest: Path) -> Path:
    """A scratch copy of the workflow definition (not results/ or resources/)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Snakefile", dest / "Snakefile")
    for folder in ("workflow", "config", "profiles", "envs"):
        if (ROOT / folder).exists():
            shutil.copytree(ROOT / folder, dest / folder, dirs_exist_ok=True)
    # Jobs import the package from <workdir>/src (see common.smk); link it rather than copy it.
    if not (dest / "src").exists():
        (dest / "src").symlink_to(ROOT / "src")
    return dest


def write_overlay(workdir: Path, values: dict, name: str = "overlay.yaml") -> str:
    (workdir / name).write_text(yaml.safe_dump(values))
    return name


def snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: int = 1200, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run `snakemake ARGS` in `workdir` (2 cores unless ARGS or a profile set them)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    sets_cores = {"--cores", "-c", "--jobs", "-j", "--profile"} & set(args)
    result = subprocess.run(
        [SNAKEMAKE, *([] if sets_cores else ["--cores", "2"]), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's job table."""
    jobs: dict[str, int] = {}
    text = result.stdout + result.stderr
    in_table = False
    for line in text.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table:
            if not parts or parts[0].startswith("-"):
                if jobs:
                    break
                continue
            if parts[0] == "total":
                break
            if len(parts) == 2 and parts[1].isdigit():
                jobs[parts[0]] = int(parts[1])
    return jobs
