"""Run the real workflow as a subprocess in a throw-away copy of the repository, and read what it did.

Used by the workflow, rerun, SLURM and report tests. Nothing here names a rule: job lists come from snakemake's
own dry-run output. `snakemake()` runs the given config; `run_tiny()` adds the tiny-world overlay unless the
arguments name their own config files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = ["--configfile", "config/config.yaml", "config/tiny.yaml"]
# Outputs that legitimately differ between two runs of the same inputs (timings, the report showing them).
VOLATILE = ("results/benchmarks/", "results/report/")
# Training logs carry wall times and throughput; a run's checkpoints/ and tb/ folders (at any depth: the runs
# of several systems nest) are its working state (timestamps, host names), not outputs: the weights they lead
# to are compared instead.
TRAINING_STATE = re.compile(r"results/(?:[^/]+/)*?(log\.csv|checkpoints/.*|tb/.*)")
TEMP_SIBLING = re.compile(r"\..+\.tmp-\d+")


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
    workdir: Path, *args: str, check: bool = True, timeout: int = 3600, env: dict | None = None
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


def run_tiny(workdir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """`snakemake` on the tiny world unless ARGS name their own config files."""
    return snakemake(workdir, *args, *(() if "--configfile" in args else TINY), **kwargs)


@dataclasses.dataclass
class Job:
    rule: str
    local: bool
    outputs: list[str]
    inputs: list[str]
    resources: dict[str, str] = dataclasses.field(default_factory=dict)


JOB_HEADER = re.compile(r"^(local)?rule (\w+):$")
JOB_FIELD = re.compile(r"^\s+(input|output|log|jobid|reason|wildcards|resources|benchmark): ?(.*)$")


def parse_jobs(text: str) -> list[Job]:
    """The jobs a snakemake run or dry-run printed, in printed order."""
    jobs: list[Job] = []
    current: Job | None = None
    for line in text.splitlines():
        header = JOB_HEADER.match(line)
        if header:
            current = Job(rule=header.group(2), local=bool(header.group(1)), outputs=[], inputs=[])
            jobs.append(current)
            continue
        field = JOB_FIELD.match(line)
        if current is not None and field:
            key, value = field.groups()
            if key in ("input", "output"):
                files = [f.strip() for f in value.split(", ") if f.strip()]
                (current.outputs if key == "output" else current.inputs).extend(files)
            elif key == "resources":
                pairs = (item.split("=", 1) for item in value.split(", ") if "=" in item)
                current.resources.update({k: v for k, v in pairs})
        elif not line.startswith(" "):
            current = None
    return jobs


def dry_run_jobs(workdir: Path, *args: str, env: dict | None = None) -> list[Job]:
    """Jobs that `snakemake ARGS` would run now (a dry-run)."""
    proc = run_tiny(workdir, "--dry-run", *args, env=env)
    return parse_jobs(proc.stdout + proc.stderr)


def job_set(jobs: list[Job]) -> list[tuple[str, tuple[str, ...]]]:
    """(rule, outputs) of every job that computes something; target rules without outputs are left out."""
    return sorted((j.rule, tuple(sorted(j.outputs))) for j in jobs if j.outputs)


def output_files(workdir: Path) -> dict[str, Path]:
    """Every file the workflow produced, by path relative to `workdir` (timings and the report excluded)."""
    files = {}
    for root in ("results", "resources"):
        for path in sorted((workdir / root).rglob("*")):
            rel = path.relative_to(workdir).as_posix()
            # A killed job leaves `.<name>.tmp-<pid>` siblings (egoflow.atomic): never outputs, never read.
            leftover = any(TEMP_SIBLING.fullmatch(part) for part in path.relative_to(workdir).parts)
            volatile = rel.startswith(VOLATILE) or TRAINING_STATE.fullmatch(rel)
            if path.is_file() and not volatile and not leftover:
                files[rel] = path
    return files


def tree_differences(a: Path, b: Path) -> list[str]:
    """Differences between the outputs of two runs: missing files, and files whose content differs.

    Containers whose bytes carry timestamps or allocation order (HDF5, LMDB, MP4) are compared by what a
    reader gets back from them; everything else byte for byte.
    """
    files_a, files_b = output_files(a), output_files(b)
    problems = [f"only in {a}: {p}" for p in sorted(files_a.keys() - files_b.keys())]
    problems += [f"only in {b}: {p}" for p in sorted(files_b.keys() - files_a.keys())]
    for rel in sorted(files_a.keys() & files_b.keys()):
        pa, pb = files_a[rel], files_b[rel]
        if pa.read_bytes() == pb.read_bytes() or same_text(pa, a, pb, b):
            continue
        if not same_content(pa, pb):
            problems.append(f"content differs: {rel}{first_difference(pa, a, pb, b)}")
    return problems


def first_difference(pa: Path, a: Path, pb: Path, b: Path) -> str:
    """' (line N: X != Y)' for text files, so a failing comparison says what differs."""
    try:
        la = pa.read_text(encoding="utf-8").replace(str(a.resolve()), "<workdir>").splitlines()
        lb = pb.read_text(encoding="utf-8").replace(str(b.resolve()), "<workdir>").splitlines()
    except UnicodeDecodeError:
        return ""
    for n, (x, y) in enumerate(zip(la, lb, strict=False), start=1):
        if x != y:
            return f" (line {n}: {x.strip()[:120]!r} != {y.strip()[:120]!r})"
    return f" ({len(la)} vs {len(lb)} lines)"


def same_text(pa: Path, a: Path, pb: Path, b: Path) -> bool:
    """Equal text once each run's own folder is written as <workdir> (two runs live in two folders)."""
    try:
        ta, tb = pa.read_text(encoding="utf-8"), pb.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return False
    return ta.replace(str(a.resolve()), "<workdir>") == tb.replace(str(b.resolve()), "<workdir>")


def same_content(a: Path, b: Path) -> bool:
    if a.suffix in (".h5", ".hdf5"):
        return _h5_items(a) == _h5_items(b)
    if a.name == "data.mdb":
        return _lmdb_items(a.parent) == _lmdb_items(b.parent)
    if a.name == "lock.mdb":
        return True  # reader-lock table: no data
    if a.suffix in (".mp4", ".mkv", ".webm", ".avi"):
        return _frames(a) == _frames(b)
    if a.suffix == ".json":
        try:
            return json.loads(a.read_text()) == json.loads(b.read_text())
        except ValueError:
            return False
    if a.suffix in (".sqlite", ".sqlite3", ".db"):
        return _sqlite_rows(a) == _sqlite_rows(b)
    return False


# Bookkeeping columns of caches (when a row was written), not content.
CLOCK_COLUMNS = {"created", "updated", "timestamp", "mtime", "time"}


def _sqlite_rows(path: Path) -> dict:
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {}
        for table in tables:
            columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")') if r[1] not in CLOCK_COLUMNS]
            select = ", ".join(f'"{c}"' for c in columns)
            rows[table] = sorted(db.execute(f'SELECT {select} FROM "{table}"').fetchall(), key=repr)
        return rows


def _h5_items(path: Path) -> dict:
    import h5py

    items = {}
    with h5py.File(path, "r") as h5:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                items[name] = np.asarray(obj[()]).tobytes()
            items[name + "@attrs"] = sorted((k, repr(v)) for k, v in obj.attrs.items())

        h5.visititems(visit)
        items["@attrs"] = sorted((k, repr(v)) for k, v in h5.attrs.items())
    return items


def _lmdb_items(folder: Path) -> list:
    import lmdb

    env = lmdb.open(str(folder), readonly=True, lock=False, subdir=True)
    try:
        with env.begin() as txn:
            return list(txn.cursor())
    finally:
        env.close()


def _frames(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24").tobytes() for frame in container.decode(video=0)]


_REFERENCE: dict[str, Path] = {}


def session_root(tmp_path_factory) -> Path:
    """The temporary folder of the whole test session: with pytest-xdist, the one all workers share."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def reference_run(tmp_path_factory) -> Path:
    """A complete local run of `all` on the tiny world, made once per test session and shared (read-only).

    Under pytest-xdist the first worker that asks makes it and the others wait for it (a file lock in the
    session folder), so the suite pays for one run however many workers it has.
    """
    if "all" not in _REFERENCE:
        from filelock import FileLock

        root = session_root(tmp_path_factory)
        folder, finished = root / "reference", root / "reference.finished"
        with FileLock(str(root / "reference.lock")):
            if not finished.exists():
                shutil.rmtree(folder, ignore_errors=True)  # what a worker that failed before left
                workdir = copy_workflow(folder / "repo")
                run_tiny(workdir, "--profile", "profiles/local", "--cores", "2", "all")
                finished.touch()
        _REFERENCE["all"] = folder / "repo"
    return _REFERENCE["all"]


def clone_run(source: Path, dest: Path) -> Path:
    """Copy a finished run (outputs, .snakemake metadata, mtimes) so a test can change it freely."""
    shutil.copytree(source, dest, symlinks=True)
    return dest


# The `wide` demo world (120 small videos): enough held-out items for learning claims with tight intervals.
WIDE = {"demo": {"size": "wide"}, "videos": {"chunks": {"size": 96, "chunk_sec": 4}}}
_WIDE: dict[str, tuple[Path, str]] = {}


def wide_run(tmp_path_factory) -> tuple[Path, str]:
    """A workflow copy on the wide world, shared by every learning test of a session: (workdir, overlay name).

    Each test asks for its own targets there; what an earlier test made (the world, chunks, features,
    pretrained runs) is reused, so the world is rendered and encoded once per session. Under pytest-xdist the
    tests that use it run on one worker (tests/conftest.py groups them), since two snakemakes cannot share a
    working directory.
    """
    if "wide" not in _WIDE:
        workdir = copy_workflow(tmp_path_factory.mktemp("wide") / "repo")
        _WIDE["wide"] = (workdir, write_overlay(workdir, WIDE, "wide.yaml"))
    return _WIDE["wide"]
