"""Inputs cannot steer the workflow outside results/ or into a shell.

- a video_uid that would make a path outside results/ (separators, '..', leading dot/dash) is rejected
  with the sheet's file, line and column, before any job runs;
- no rule builds a shell command from file names, wildcards, params or config text;
- a video whose file name is shell syntax is read as a plain file name.
Checkpoints load with weights_only=True: see tests/test_checkpoint.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from egoflow.errors import InputError
from egoflow.sheet import read_sheet
from tests.videos_synth import make_video
from tests.workflow_run import ROOT, copy_workflow, snakemake, write_overlay

UNSAFE_UIDS = [
    "../escape",
    "a/b",
    "/abs",
    ".hidden",
    "-flag",
    "x/../../y",
    "a\\b",
    "uid with space",
    "ok..no",
]


@pytest.mark.parametrize("uid", UNSAFE_UIDS)
def test_sheet_rejects_uids_that_leave_results(tmp_path, uid):
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"video_uid\tpath\nfine_01\tv.mp4\n{uid}\tv.mp4\n")
    with pytest.raises(InputError) as error:
        read_sheet(sheet)
    assert error.value.path == str(sheet) and error.value.line == 3 and error.value.column == "video_uid"


def test_workflow_stops_on_an_unsafe_uid_before_any_job(tmp_path):
    workdir = copy_workflow(tmp_path / "repo")
    sheet = tmp_path / "evil.tsv"
    sheet.write_text("video_uid\tpath\n../../etc\tv.mp4\n")
    overlay = write_overlay(workdir, {"videos": {"sheet": str(sheet)}})
    proc = snakemake(
        workdir, "-n", "--configfile", "config/config.yaml", "config/tiny.yaml", overlay, check=False
    )
    assert proc.returncode != 0
    assert re.search(r"evil\.tsv, line 2, column 'video_uid'", proc.stdout + proc.stderr)
    assert not (workdir / "results").exists() and not (tmp_path / "etc").exists()


# A placeholder a rule fills from outside text: {input}, {output.x}, {params}, {wildcards.y}, {config[...]}.
FILLED = re.compile(r"\{(input|output|params|wildcards|config|log|resources)\b[^}]*\}")


def shell_commands(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every shell: directive's command in a Snakefile/.smk."""
    lines = path.read_text().splitlines()
    found = []
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)shell:\s*(.*)$", line)
        if not match:
            continue
        indent, body = len(match.group(1)), [match.group(2)]
        for following in lines[i + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        found.append((i + 1, "\n".join(body)))
    return found


def test_no_rule_builds_a_shell_command_from_file_names_or_config():
    offenders = []
    for path in [ROOT / "Snakefile", *sorted((ROOT / "workflow/rules").glob("*.smk"))]:
        for line, command in shell_commands(path):
            if FILLED.search(command):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {command.strip()}")
    assert offenders == [], "use script: (argument lists, no shell) instead of shell: with placeholders"


def test_scanner_sees_placeholders(tmp_path):
    # The scanner above must be able to fail: a rule with {input} in its shell command is caught.
    smk = tmp_path / "x.smk"
    smk.write_text(
        'rule x:\n    shell:\n        "ffmpeg -i {input.video} {output}"\n\n\nrule y:\n    shell:\n        "exit 3"\n'
    )
    commands = shell_commands(smk)
    assert [bool(FILLED.search(c)) for _, c in commands] == [True, False]


@pytest.mark.slow
def test_a_video_file_name_with_shell_syntax_is_just_a_name(tmp_path):
    workdir = copy_workflow(tmp_path / "repo")
    videos = tmp_path / "videos"
    videos.mkdir()
    name = "clip $(touch PWNED); `touch PWNED2` && touch PWNED3.mp4"
    make_video(videos / "plain.mp4", seconds=1.0, size="64x48", fps=10).rename(videos / name)
    sheet = videos / "sheet.tsv"
    sheet.write_text(f"video_uid\tpath\nv1\t{name}\n")
    overlay = write_overlay(workdir, {"videos": {"sheet": str(sheet)}})
    config = ["--configfile", "config/config.yaml", "config/tiny.yaml", overlay]
    snakemake(workdir, "results/videos/probe/v1.json", *config)
    assert (workdir / "results/videos/probe/v1.json").exists()
    planted = [p for p in (*tmp_path.rglob("PWNED*"), *Path.cwd().glob("PWNED*")) if p.is_file()]
    assert planted == [], f"a file name was run as a command: {planted}"
