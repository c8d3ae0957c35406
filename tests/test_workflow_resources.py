"""Memory and wall time have one owner: the config keys users edit reach sbatch through profiles/slurm, which
only adds GPUs, partitions and the account; memory grows with each retry up to resources.max_mem_mb. Training
gets the GPUs of one node and SLURM's warning signal; profiles/slurm-multinode makes it one job over several
nodes (docs/cluster.md, "Training on SLURM"). Every sbatch line is the plugin's own (`get_submit_command`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

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


# --- training: GPUs, the warning signal, several nodes ------------------------------------------------------
# The config's pretraining and evaluation resources, changed from config.yaml's so that they are seen to travel.
TRAINING_CONFIG = {
    "pretrain": {"mem_mb": 23456, "runtime": "7h"},
    "evaluate": {"mem_mb": 3456, "runtime": "90m"},
}
MULTINODE = ("profiles/slurm", "profiles/slurm-multinode")  # used as docs/cluster.md shows


@pytest.fixture(scope="module")
def training_repo(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("training") / "repo")
    write_overlay(workdir, TRAINING_CONFIG, "training.yaml")
    return workdir


def planned(workdir, profiles, target="all", env=None) -> dict[str, list[dict[str, str]]]:
    """Rule -> the resources of each of its jobs in a dry run of `target` with these profiles."""
    options = [word for p in profiles for word in ("--profile", p)]
    proc = snakemake(
        workdir, *options, "-n", target, *TINY, "training.yaml", env={**SLURM_ENV, **(env or {})}
    )
    jobs: dict[str, list[dict[str, str]]] = {}
    for job in parse_jobs(proc.stdout + proc.stderr):
        jobs.setdefault(job.rule, []).append(job.resources)
    return jobs


@pytest.fixture(scope="module")
def one_node(training_repo):
    return planned(training_repo, ["profiles/slurm"])


@pytest.fixture(scope="module")
def several_nodes(training_repo):
    return planned(training_repo, MULTINODE)


def test_training_asks_for_gpus_of_one_node_and_the_warning_signal(one_node):
    (train,) = {sbatch_arguments("pretrain_model", 2, r) for r in one_node["pretrain_model"]}
    # EGOFLOW_SLURM_TRAIN_GPUS unset: 4 GPUs, 8 CPUs each; pretrain.runtime 7h = 420 min, pretrain.mem_mb.
    assert " --gpus=4" in train and " --cpus-per-gpu=8" in train, train
    assert " --nodes=1" in train, train  # torchrun --standalone: every GPU on one node
    assert " -t 420 " in train and " --mem 23456 " in train and "-p gpu-part" in train, train
    # The warning signal reaches the job steps (the trainers), not the batch shell: no `B:`.
    assert " --signal=USR1@180" in train and "B:" not in train, train
    # A task count would make the plugin add --ntasks-per-gpu and the job body would run once per task.
    assert "--ntasks" not in train, train
    assert all("mpi" not in r for r in one_node["pretrain_model"]), "one node: torchrun, not an mpi job"

    (evaluate,) = {sbatch_arguments("evaluate_zeroshot", 2, r) for r in one_node["evaluate_zeroshot"]}
    assert " --gpus=1" in evaluate and " --cpus-per-gpu=4" in evaluate, evaluate
    assert " -t 90 " in evaluate and " --mem 3456 " in evaluate, evaluate  # evaluate.runtime 90m
    assert "--signal" not in evaluate, evaluate  # minutes long: nothing to checkpoint

    every_job = [sbatch_arguments(rule, 1, r) for rule, jobs in one_node.items() for r in jobs]
    assert [line for line in every_job if "--ntasks-per-gpu" in line] == []


def test_training_gpus_come_from_the_environment(training_repo):
    jobs = planned(
        training_repo, ["profiles/slurm"], "results/pretrain/demo/model.pt", {"EGOFLOW_SLURM_TRAIN_GPUS": "8"}
    )
    (train,) = {sbatch_arguments("pretrain_model", 2, r) for r in jobs["pretrain_model"]}
    assert " --gpus=8" in train and " --cpus-per-gpu=8" in train and "--ntasks" not in train, train
    # The other GPU rules keep their one GPU.
    assert {r["gpu"] for r in jobs["clip_states"]} == {"1"}


def test_several_nodes_make_training_one_mpi_job(several_nodes):
    resources = several_nodes["pretrain_model"]
    (train,) = {sbatch_arguments("pretrain_model", 2, r) for r in resources}
    # 2 nodes x 4 tasks (one per GPU), 4 GPUs and 8 CPUs per task on each node; memory and wall time still the
    # config's, the warning signal still asked for.
    assert " --nodes=2 --ntasks-per-node=4 --cpus-per-task=8 " in train, train
    assert train.endswith(" --gres=gpu:4") and "--gpus=" not in train and "--ntasks-per-gpu" not in train, (
        train
    )
    assert " -t 420 " in train and " --mem 23456 " in train and "-p gpu-part" in train, train
    assert " --signal=USR1@180" in train, train
    # The jobstep runs an `mpi` job's command as it is, not wrapped in `srun -n1`: the script starts the tasks.
    assert {r.get("mpi") for r in resources} == {"srun"}


def test_several_nodes_change_only_training(one_node, several_nodes):
    assert several_nodes.keys() == one_node.keys()
    for rule in one_node.keys() - {"pretrain_model"}:
        assert several_nodes[rule] == one_node[rule], f"{rule}: profiles/slurm-multinode changed it"


def test_several_nodes_take_nodes_and_gpus_from_the_environment(training_repo):
    env = {"EGOFLOW_SLURM_TRAIN_NODES": "3", "EGOFLOW_SLURM_TRAIN_GPUS": "8"}
    jobs = planned(training_repo, MULTINODE, "results/pretrain/demo/model.pt", env)
    (train,) = {sbatch_arguments("pretrain_model", 2, r) for r in jobs["pretrain_model"]}
    assert " --nodes=3 --ntasks-per-node=8 --cpus-per-task=8 " in train and train.endswith(" --gres=gpu:8")


# Each training rule of the workflow and the GPUs its job asks for: launch_spec rules start one trainer per GPU
# of the node (torchrun), the others train in the job's own process on one.
TRAINING_RULES = {
    "pretrain_model": 4,
    "framewise_carl": 4,
    "train_states": 4,
    "evaluate_finetune": 1,
    "evaluate_finetune_charades": 1,
    "framewise_segmentation": 1,
    "sgear_train": 1,
    "lta_train": 1,
}


def test_every_training_rule_checkpoints_on_the_warning_signal(one_node):
    for rule, gpus in TRAINING_RULES.items():
        assert rule in one_node, f"{rule} is not planned by `all`"
        (line,) = {sbatch_arguments(rule, 2, r) for r in one_node[rule]}
        assert " --signal=USR1@180" in line and "B:" not in line, (rule, line)
        assert f" --gpus={gpus}" in line and "--ntasks" not in line, (rule, line)
