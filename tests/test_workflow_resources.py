"""Memory and wall time have one owner: the config keys users edit reach sbatch through profiles/slurm, which
only adds GPUs, partitions and the account; memory grows with each retry up to resources.max_mem_mb."""

from __future__ import annotations

from types import SimpleNamespace

from tests.workflow_run import TINY, copy_workflow, parse_jobs, snakemake, write_overlay

# A GPU cluster with its own partitions; nothing here needs SLURM binaries (a dry run submits nothing).
SLURM_ENV = {
    "EGOFLOW_SLURM_PARTITION": "cpu-part",
    "EGOFLOW_SLURM_GPU_PARTITION": "gpu-part",
    "EGOFLOW_SLURM_ACCOUNT": "lab",
    "EGOFLOW_SLURM_CPU_ONLY": "",
}


class JobResources(dict):
    """A job's resources as the plugin reads them: `.get(key)` and `.key`."""

    __getattr__ = dict.get


def sbatch_arguments(rule: str, threads: int, resources: dict[str, str]) -> str:
    """The sbatch line the SLURM plugin builds for a job with these resources (a dry run of the slurm executor
    prints each job's resources but not its threads, which only set --cpus-per-*)."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    values = JobResources({k: int(v) if v.isdigit() else v for k, v in resources.items()})
    job = SimpleNamespace(resources=values, threads=threads, name=rule)
    params = {
        "run_uuid": "run",
        "slurm_logfile": "x.log",
        "comment_str": f"rule_{rule}",
        "account": f"-A {values.slurm_account}",
        "partition": f"-p {values.slurm_partition}",
        "workdir": "",
    }
    return get_submit_command(job, params) + set_gres_string(job)


def test_config_memory_and_runtime_reach_sbatch(tmp_path):
    workdir = copy_workflow(tmp_path / "repo")
    overlay = write_overlay(
        workdir, {"videos": {"runtime": "3h"}, "text": {"mem_mb": 12345, "runtime": "5h"}}
    )
    proc = snakemake(
        workdir, "--profile", "profiles/slurm", "-n", "videos", "text", *TINY, overlay, env=SLURM_ENV
    )
    text = proc.stdout + proc.stderr
    jobs = {job.rule: job for job in parse_jobs(text)}

    resize = sbatch_arguments("resize_chunk", 1, jobs["resize_chunk"].resources)
    assert " -t 180 " in resize and " --mem 4000 " in resize, resize  # videos.runtime 3h = 180 min
    assert "-p cpu-part" in resize and "-A lab" in resize and "--gpus" not in resize, resize

    # clip_states: text.mem_mb and text.runtime from the config, one GPU and its partition from the profile.
    clip = sbatch_arguments("clip_states", 1, jobs["clip_states"].resources)
    assert " -t 300 " in clip and " --mem 12345 " in clip, clip  # text.runtime 5h = 300 min
    assert "-p gpu-part" in clip and " --gpus=1" in clip and "--cpus-per-gpu=4" in clip, clip
    assert jobs["summary_cf"].resources["mem_mb"] == "12345"


def test_cpu_only_cluster_asks_for_no_gpu(tmp_path):
    workdir = copy_workflow(tmp_path / "repo")
    env = {**SLURM_ENV, "EGOFLOW_SLURM_CPU_ONLY": "1"}
    proc = snakemake(workdir, "--profile", "profiles/slurm", "-n", "text", *TINY, env=env)
    clip = {job.rule: job for job in parse_jobs(proc.stdout + proc.stderr)}["clip_states"]
    assert "gpu" not in clip.resources and clip.resources["slurm_partition"] == "cpu-part", clip
    assert clip.resources["mem_mb"] == "8000" and clip.resources["runtime"] == "720"  # config.yaml's text.*


RETRY_SNAKEFILE = """\
include: "Snakefile"


# Fails until its third attempt, writing the memory each attempt was given.
rule out_of_memory:
    output:
        "results/out_of_memory.txt",
    resources:
        mem_mb=memory(1000),
    run:
        with open("attempts.txt", "a") as record:
            record.write(f"{resources.mem_mb}\\n")
        if len(open("attempts.txt").read().split()) < 3:
            raise MemoryError("pretend the job was killed for memory")
        open(output[0], "w").close()
"""


def test_memory_grows_with_each_retry_up_to_the_cap(tmp_path):
    workdir = copy_workflow(tmp_path / "repo")
    (workdir / "retry.smk").write_text(RETRY_SNAKEFILE)
    overlay = write_overlay(workdir, {"resources": {"max_mem_mb": 2500}})
    snakemake(workdir, "-s", "retry.smk", "--retries", "2", "results/out_of_memory.txt", *TINY, overlay)
    # 1000 x attempt: 1000, 2000, then 3000 capped at 2500.
    assert (workdir / "attempts.txt").read_text().split() == ["1000", "2000", "2500"]
