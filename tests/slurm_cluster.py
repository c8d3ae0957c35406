"""The single-node SLURM test cluster of tests/slurm/start.sh, as tests/test_slurm.py and benchmarks/cluster.py use it.

`start()` brings the cluster up and returns the environment that points every SLURM command at it, inside
jobs too: snakemake's jobstep drops SLURM_CONF (every SLURM_* variable) before its `srun`, so the environment
puts the cluster's client wrappers ($EGOFLOW_SLURM_DIR/bin, written by start.sh) first on PATH, which jobs
inherit. `decoy_system_config()` plants a /etc/slurm/slurm.conf of another cluster, as on a login node, to show
that nothing of the test cluster reads the machine's own configuration.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.workflow_run import TINY, write_overlay

ROOT = Path(__file__).resolve().parents[1]
STATE = os.environ.get("EGOFLOW_SLURM_DIR", "/var/tmp/egoflow-slurm")
# The workflow's SLURM profile plus the test overlay (2 s status checks, no retries).
PROFILES = ["--profile", "profiles/slurm", "--profile", str(ROOT / "tests/slurm/profile")]
# The test node has 2 CPUs, ~19 GB and no GPU: GPU rules run as CPU jobs (profile), and no job asks for more
# memory than the node has (config: every rule's mem_mb is capped).
NODE_ENV = {"EGOFLOW_SLURM_CPU_ONLY": "1"}
NODE_CONFIG = {"resources": {"max_mem_mb": 3000}}
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")  # Debian's compiled-in default, read when SLURM_CONF is unset
DECOY_MARK = "# egoflow test decoy (tests/slurm_cluster.py)"
# A controller that does not exist: a loopback address with nothing on the port, so a client that reads this
# file fails at once (no DNS retries) and names it.
DECOY = f"""{DECOY_MARK}: another cluster's configuration, as on a login node.
ClusterName=decoy
SlurmctldHost=decoy-controller(127.0.0.2)
SlurmctldPort=9
NodeName=decoy-node CPUs=1 State=UNKNOWN
PartitionName=decoy Nodes=decoy-node Default=YES State=UP
"""


def cluster_env(state: str = STATE) -> dict[str, str]:
    """Environment for snakemake and SLURM commands: the cluster's wrappers first on PATH, its SLURM_CONF."""
    return {
        "PATH": f"{state}/bin:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "SLURM_CONF": f"{state}/etc/slurm.conf",
        "EGOFLOW_SLURM_DIR": state,
    }


def node_config(workdir: Path) -> list[str]:
    """Config arguments for a run on the test node: the tiny world plus NODE_CONFIG."""
    return [*TINY, write_overlay(workdir, NODE_CONFIG, "slurm-node.yaml")]


def rendered_profile(env: dict[str, str]) -> dict:
    """profiles/slurm/config.yaml as snakemake reads it (YTE-rendered) under the given environment."""
    import yte

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        with open(ROOT / "profiles/slurm/config.yaml") as handle:
            return yte.process_yaml(handle, require_use_yte=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def start(state: str = STATE) -> dict[str, str]:
    """Start (or reuse) the cluster; returns cluster_env(). Raises with start.sh's log when it fails."""
    proc = subprocess.run(
        ["bash", str(ROOT / "tests/slurm/start.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "EGOFLOW_SLURM_DIR": state},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"tests/slurm/start.sh failed:\n{proc.stderr[-4000:]}")
    return cluster_env(state)


@contextlib.contextmanager
def decoy_system_config(path: Path = SYSTEM_CONF) -> Iterator[bool]:
    """Plant DECOY at `path` for the duration; yields True when planted.

    A configuration the machine already has is left alone (yields False): it belongs to the machine's own
    cluster, so it already is the condition under test, and replacing it would cut that cluster's users off.
    A decoy left by a killed run is recognised by DECOY_MARK and replaced. Afterwards the file is removed, and
    so is its folder when the decoy created it (`.egoflow-decoy-made-dir` remembers that across a crash).
    """
    made_dir_marker = path.parent / ".egoflow-decoy-made-dir"
    if path.exists() and not path.read_text(errors="replace").startswith(DECOY_MARK):
        yield False
        return
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
        made_dir_marker.touch()
    path.write_text(DECOY)
    try:
        yield True
    finally:
        path.unlink(missing_ok=True)
        if made_dir_marker.exists():
            made_dir_marker.unlink()
            with contextlib.suppress(OSError):  # not empty: something else was put there meanwhile
                path.parent.rmdir()
