"""Pretraining through the workflow: a killed training job resumes bit-exact; GPU rules ask SLURM for GPUs.

The kill test runs `snakemake results/pretrain/demo/model.pt` on the tiny world twice in two copies: once
straight through, once SIGKILLed (the whole process group: snakemake, the launcher and the trainer) after the
first checkpoint and rerun. Both must end with identical weights.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from egoflow.checkpoint import load_checkpoint
from tests.workflow_run import SNAKEMAKE, TINY, copy_workflow, run_tiny, write_overlay

pytestmark = pytest.mark.slow

LOCAL = ["--profile", "profiles/local", "--cores", "2"]
TARGET = "results/pretrain/demo/model.pt"
# 4 anchors per step: the tiny world's ~20 narrations give 5 steps an epoch; 14 steps cross two epoch ends.
SHORT_RUN = {
    "pretrain": {
        "defaults": {
            "data": {"batch_size": 4, "summary_batch_size": 1},
            "train": {"max_steps": 14, "checkpoint_every": 3, "log_every": 1, "warmup_steps": 2},
        }
    }
}


def start(workdir: Path, target: str, overlay: str) -> subprocess.Popen:
    # Targets before --configfile, which takes every following word as a file.
    return subprocess.Popen(
        [SNAKEMAKE, *LOCAL, target, *TINY, overlay],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so one killpg reaches every process of the run
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_sigkill_mid_training_then_rerun_resumes_to_the_same_weights(tmp_path):
    straight = copy_workflow(tmp_path / "straight")
    overlay = write_overlay(straight, SHORT_RUN)
    run_tiny(straight, *LOCAL, TARGET, *TINY, overlay)

    killed = copy_workflow(tmp_path / "killed")
    write_overlay(killed, SHORT_RUN)
    proc = start(killed, TARGET, overlay)
    checkpoints = killed / "results/pretrain/demo/checkpoints"
    deadline = time.time() + 900
    while not list(checkpoints.glob("step-*.pt")):
        assert proc.poll() is None, (
            f"the run ended before its first checkpoint:\n{proc.stdout.read()[-4000:]}"
        )
        assert time.time() < deadline, "no checkpoint within 15 minutes"
        time.sleep(0.2)
    time.sleep(1.0)  # a step or two past the checkpoint: the kill lands mid-epoch, between checkpoints
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / TARGET).exists()
    first = sorted(checkpoints.glob("step-*.pt"))[-1]

    run_tiny(killed, "--unlock", *TINY, overlay)
    rerun = run_tiny(killed, *LOCAL, TARGET, *TINY, overlay)
    log = (killed / "logs/pretrain/pretrain_model/demo.log").read_text()
    assert f"resumed from {first}".replace(str(killed) + "/", "") in log.replace(str(killed) + "/", ""), (
        log[-3000:] + rerun.stdout[-2000:]
    )

    a = load_checkpoint(straight / TARGET)["model"]
    b = load_checkpoint(killed / TARGET)["model"]
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"{len(different)} tensors differ after the resume, e.g. {different[:3]}"
