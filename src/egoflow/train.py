"""The one training loop of egoflow: every model (pretraining, fine-tuning, CARL, ASFormer, S-GEAR, LTA, ChangeIt)
trains through `train()`.

A model is an `nn.Module` whose `forward(batch, objective)` returns a dict of named loss terms; the loop weights
and sums them, steps AdamW, logs, checkpoints and resumes. It knows nothing of any particular model. Several
objectives (e.g. clip-level every step and video-level every 5th step, each with its own optimiser step) are
a list of `Objective`s.

Launch: one process on CPU; `torchrun --standalone --nproc-per-node N` on one node; several nodes as one SLURM
job whose tasks `srun` starts (ranks from SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID, master = first host of
the job). The global batch is split by rank, so N processes see the same data as one (`ResumableSampler`).

Checkpoints (`<run_dir>/checkpoints/step-XXXXXXXX.pt`) hold model, optimiser, scheduler, step, every
objective's sampler position and every RNG state; they are written atomically, so the newest file is always
complete, and a rerun resumes from it. They are not rule outputs (Snakemake deletes declared outputs before
it reruns a job); the final weights are. On SIGUSR1 or SIGTERM (SLURM's warning signal, preemption) the loop
saves a checkpoint at the next step boundary and exits with PREEMPTED_EXIT_CODE, so the profile's retries
resubmit and the next attempt resumes.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from egoflow.atomic import atomic_path, write_text
from egoflow.checkpoint import load_checkpoint, save_checkpoint

PREEMPTED_EXIT_CODE = 75  # EX_TEMPFAIL: "try again" — the job checkpointed and wants to be resubmitted
CHECKPOINT_GLOB = "step-*.pt"


@dataclass
class TrainConfig:
    max_steps: int = 1000  # optimiser steps of the first (main) objective
    lr: float = 1e-5  # AdamW (counterfactual pretraining: 1e-5, no schedule)
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-6  # transformers' AdamW default, which upstream used
    schedule: str = "constant"  # constant | cosine (after warm-up, to 0 at max_steps)
    warmup_steps: int = 0
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    checkpoint_every: int = 500  # steps; also at every epoch end of the main objective
    keep_checkpoints: int = 2  # newest files kept in <run_dir>/checkpoints
    log_every: int = 10  # steps between CSV / TensorBoard rows
    seed: int = 0
    num_workers: int = 0  # DataLoader workers per process
    device: str = "auto"  # auto | cpu | cuda | cuda:N (under torchrun: cuda:LOCAL_RANK)
    bf16: bool = True  # autocast to bfloat16 on CUDA (ignored on CPU)
    compile: bool = False  # torch.compile the model
    stop_after: int = 0  # leave (as if preempted) after this many steps of this attempt; 0 = never (tests)


@dataclass
class Objective:
    """One thing the model learns: a dataset, a per-process batch size and how often it steps."""

    name: str  # passed to model.forward(batch, objective=name)
    dataset: Dataset
    batch_size: int  # per process; the global batch is batch_size * world_size
    every: int = 1  # steps on global steps where (step + 1) % every == 0 (after the main objective)
    weights: dict[str, float] = field(default_factory=dict)  # loss term -> weight (missing: 1.0)
    collate: Callable | None = None


# --- launch -----------------------------------------------------------------------------------------------


@dataclass
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def world_from_environment() -> World:
    """torchrun's RANK/WORLD_SIZE/LOCAL_RANK, else an srun task's SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID."""
    env = os.environ
    if "RANK" in env and "WORLD_SIZE" in env:
        return World(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0)))
    if int(env.get("SLURM_NTASKS", "1")) > 1 and "SLURM_PROCID" in env:
        return World(int(env["SLURM_PROCID"]), int(env["SLURM_NTASKS"]), int(env.get("SLURM_LOCALID", 0)))
    return World()


def first_slurm_host() -> str:
    nodes = os.environ.get("SLURM_JOB_NODELIST") or os.environ.get("SLURM_NODELIST", "")
    if not nodes:
        return "127.0.0.1"
    hosts = subprocess.run(
        ["scontrol", "show", "hostnames", nodes], capture_output=True, text=True, check=True
    ).stdout.split()
    return hosts[0]


def init_distributed(device: torch.device) -> World:
    """Join the process group when launched with several processes (no-op for one)."""
    world = world_from_environment()
    if world.size == 1 or dist.is_initialized():
        return world
    if "MASTER_ADDR" not in os.environ:  # srun tasks: torchrun would have set these
        os.environ["MASTER_ADDR"] = first_slurm_host()
        os.environ.setdefault("MASTER_PORT", str(29500 + int(os.environ.get("SLURM_JOB_ID", "0")) % 20000))
    os.environ.setdefault("RANK", str(world.rank))
    os.environ.setdefault("WORLD_SIZE", str(world.size))
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=world.rank, world_size=world.size)
    return world


def pick_train_device(name: str, world: World) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", world.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


@dataclass(frozen=True)
class Geometry:
    """The training processes of one job: `nproc` per node (torchrun on one node, or srun tasks on `nodes`)."""

    nproc: int = 1
    srun: bool = False
    nodes: int = 1
    cpus_per_task: int = 0

    @classmethod
    def from_resources(cls, resources: Mapping) -> Geometry:
        """A rule's resources -> its geometry: one process per GPU of the job (`gpu`) on one node, or, for an
        `mpi: srun` job over several nodes (docs/cluster.md), `tasks_per_node` tasks on each of `nodes`."""
        srun = resources.get("mpi", "") == "srun"
        nproc = int((resources.get("tasks_per_node", 0) if srun else resources.get("gpu", 0)) or 1)
        nodes = int(resources.get("nodes", 1) or 1)
        return cls(nproc, srun, nodes, int(resources.get("cpus_per_task", 0) or 0))


def launch_command(module: str, args: Sequence[str], geometry: Geometry = Geometry()) -> list[str]:
    """The command that runs `python -m module args` as the training processes.

    One process (nproc <= 1); torchrun with `nproc` processes on this node; or, for several nodes (`srun`,
    inside a SLURM allocation), srun starting `nproc` tasks on each of `nodes` nodes, each of which finds its
    rank in SLURM_PROCID. The geometry is spelled out: snakemake's SLURM jobstep drops the job's SLURM_NTASKS,
    SLURM_CPUS_PER_TASK, ... before the rule runs, and a bare srun would start one task of one CPU per node.
    """
    python = [sys.executable, "-m", module, *args]
    g = geometry
    if g.srun:
        cpus = [f"--cpus-per-task={g.cpus_per_task}"] if g.cpus_per_task > 0 else []
        return [
            "srun",
            "--kill-on-bad-exit=1",
            f"--nodes={g.nodes}",
            f"--ntasks-per-node={g.nproc}",
            *cpus,
            *python,
        ]
    if g.nproc <= 1:
        return python
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={g.nproc}",
            "-m", module, *args]  # fmt: skip


def launch(module: str, args: Sequence[str], geometry: Geometry = Geometry(), log=None) -> int:
    """Run a training entry point (see launch_command) and return its exit code.

    SLURM's warning signal (`--signal=USR1@N`, no `B:`) reaches every process of the job step. Only the training
    processes may act on it: the launcher ignores SIGUSR1 and so do its children (torchrun) by inheritance,
    while each training process installs its own handler, checkpoints and exits. SIGTERM is forwarded.
    `log`: a file both output streams go to (the rule's log).
    """
    previous = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    proc = subprocess.Popen(launch_command(module, args, geometry), stdout=log, stderr=log)

    def forward(signum, frame):
        proc.send_signal(signum)

    old_term = signal.signal(signal.SIGTERM, forward)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGUSR1, previous)
        signal.signal(signal.SIGTERM, old_term)


def launch_spec(module: str, spec: dict, resources: Mapping, log=None) -> int:
    """A training rule's job: write `spec` to <spec["run_dir"]>/checkpoints/spec.json (beside the checkpoints, so
    not a rule output) and launch `python -m module spec.json` with the processes the rule's resources ask for."""
    path = Path(spec["run_dir"]) / "checkpoints" / "spec.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=2))
    return launch(module, [str(path)], Geometry.from_resources(resources), log)


# --- data -------------------------------------------------------------------------------------------------


class ResumableSampler(Sampler[int]):
    """This rank's indices of an epoch-seeded permutation, in global batches, from a given batch onwards.

    Global batch b of epoch e is rows [b*B, (b+1)*B) of permutation(seed, e) with B = batch_size * world; rank r
    takes its r-th slice, so N processes together see exactly what one process sees. The last partial batch
    is dropped. `start` skips batches already consumed (the resume position).
    """

    def __init__(self, n: int, batch_size: int, world: World, seed: int, epoch: int = 0, start: int = 0):
        self.n, self.batch_size, self.world, self.seed = n, batch_size, world, seed
        self.epoch, self.start = epoch, start
        self.global_batch = batch_size * world.size
        self.batches = n // self.global_batch  # per epoch
        if self.batches == 0:
            raise ValueError(
                f"{n} training items are fewer than one global batch ({batch_size} x {world.size} processes)"
            )

    def __iter__(self) -> Iterator[int]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        for b in range(self.start, self.batches):
            lo = b * self.global_batch + self.world.rank * self.batch_size
            yield from order[lo : lo + self.batch_size].tolist()

    def __len__(self) -> int:
        return (self.batches - self.start) * self.batch_size


class ObjectiveStream:
    """Endless batches of one objective; `position` = (epoch, batches consumed in it) is saved in checkpoints."""

    def __init__(self, objective: Objective, world: World, cfg: TrainConfig, epoch: int = 0, batch: int = 0):
        self.objective, self.world, self.cfg = objective, world, cfg
        self.epoch, self.batch = epoch, batch
        self._iter: Iterator | None = None
        self.batches_per_epoch = ResumableSampler(
            len(objective.dataset), objective.batch_size, world, 0
        ).batches

    def _loader(self) -> Iterator:
        obj = self.objective
        if hasattr(obj.dataset, "set_epoch"):
            obj.dataset.set_epoch(self.epoch)
        sampler = ResumableSampler(
            len(obj.dataset), obj.batch_size, self.world, self.cfg.seed, self.epoch, self.batch
        )
        loader = DataLoader(
            obj.dataset,
            batch_size=obj.batch_size,
            sampler=sampler,
            num_workers=self.cfg.num_workers,
            collate_fn=obj.collate,
            persistent_workers=False,
            pin_memory=torch.cuda.is_available(),
            # Its own generator: creating a loader on resume must not draw from the global RNG.
            generator=torch.Generator().manual_seed(self.cfg.seed),
            prefetch_factor=4 if self.cfg.num_workers else None,
        )
        return iter(loader)

    def next(self) -> tuple[dict, bool]:
        """The next batch, and whether it was the last of its epoch."""
        if self._iter is None:
            self._iter = self._loader()
        batch = next(self._iter)
        self.batch += 1
        epoch_done = self.batch == self.batches_per_epoch
        if epoch_done:
            self.epoch, self.batch, self._iter = self.epoch + 1, 0, None
        return batch, epoch_done

    def state(self) -> dict:
        return {"epoch": self.epoch, "batch": self.batch}


# --- checkpoints ------------------------------------------------------------------------------------------


def rng_state() -> dict:
    """Every RNG's state as plain data (tensors, numbers, tuples), so checkpoints load with weights_only."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(_as_python_random_state(state["python"]))
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_python_random_state(value):
    # torch.save turns the tuple of random.getstate() into lists; random.setstate wants tuples.
    version, internal, gauss = value
    return (version, tuple(internal), gauss)


def note_event(folder: Path, text: str) -> None:
    """One line in <run_dir>/checkpoints/events.log: starts, resumes, signals, the end. It survives reruns and
    retries (rule logs are rewritten by each attempt), so it tells the whole story of a run."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    job = os.environ.get("SLURM_JOB_ID")
    with open(folder / "events.log", "a", encoding="utf-8") as f:
        f.write(f"{stamp} {text}{f' (SLURM job {job})' if job else ''}\n")


def stale(state: dict, run_config: dict | None) -> bool:
    """A checkpoint written under other settings (its config hash differs from this run's)."""
    old = (state.get("config") or {}).get("config_hash")
    new = (run_config or {}).get("config_hash")
    return bool(old and new and old != new)


def set_aside(folder: Path, config_hash: str) -> Path:
    """Move the checkpoints of an earlier configuration into <folder>/stale-<hash>/ (kept, never resumed)."""
    aside = folder / f"stale-{config_hash}"
    aside.mkdir(exist_ok=True)
    for path in folder.glob(CHECKPOINT_GLOB):
        path.rename(aside / path.name)
    return aside


def newest_checkpoint(folder: Path) -> Path | None:
    files = sorted(folder.glob(CHECKPOINT_GLOB))
    return files[-1] if files else None


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    model = getattr(model, "module", model)  # DDP
    return getattr(model, "_orig_mod", model)  # torch.compile


# --- the loop ---------------------------------------------------------------------------------------------


class StopSignal:
    """Remembers SIGUSR1 / SIGTERM so the loop can stop at a step boundary."""

    def __init__(self):
        self.received: int | None = None
        for signum in (signal.SIGUSR1, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame):
        self.received = signum
        print(
            f"received {signal.Signals(signum).name}: checkpoint at the next step, then exit", file=sys.stderr
        )


def make_optimizers(model: torch.nn.Module, cfg: TrainConfig) -> list[torch.optim.Optimizer]:
    """AdamW over every trainable parameter (cfg.lr, betas, eps, weight_decay), unless the model says otherwise:
    a model with `configure_optimizers(cfg) -> list[Optimizer]` (e.g. SGD for heads, AdamW for a backbone, as
    ChangeIt) gets those. Every optimizer steps on every loss and follows the same schedule (cfg.schedule)."""
    if hasattr(model, "configure_optimizers"):
        optimizers = list(model.configure_optimizers(cfg))
        assert optimizers, f"{type(model).__name__}.configure_optimizers returned no optimizer"
        return optimizers
    params = [p for p in model.parameters() if p.requires_grad]
    return [torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)]


def lr_factor(cfg: TrainConfig, step: int) -> float:
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "cosine":
        progress = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return 1.0


def clips_in(batch) -> int:
    if isinstance(batch, dict):
        for value in batch.values():
            if isinstance(value, torch.Tensor):
                return int(value.shape[0])
    return 0


def train(
    model: torch.nn.Module,
    objectives: Sequence[Objective],
    cfg: TrainConfig,
    run_dir: str | Path,
    final_path: str | Path,
    *,
    run_config: dict | None = None,
    log_path: str | Path | None = None,
) -> Path:
    """Train `model` on `objectives` for cfg.max_steps steps; write the final weights to `final_path`.

    Resumes from the newest checkpoint in <run_dir>/checkpoints. Raises SystemExit(PREEMPTED_EXIT_CODE) after
    checkpointing when signalled. Logs go to `log_path` (default <run_dir>/log.csv) and <run_dir>/tb/ (rank 0).
    """
    run_dir, final_path = Path(run_dir), Path(final_path)
    ckpt_dir = run_dir / "checkpoints"
    world = world_from_environment()
    device = pick_train_device(cfg.device, world)
    world = init_distributed(device)
    torch.manual_seed(cfg.seed + world.rank)
    np.random.seed(cfg.seed + world.rank)
    random.seed(cfg.seed + world.rank)

    model = model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizers = make_optimizers(model, cfg)
    schedulers = [torch.optim.lr_scheduler.LambdaLR(o, lambda s: lr_factor(cfg, s)) for o in optimizers]
    streams = [ObjectiveStream(o, world, cfg) for o in objectives]
    step = 0

    latest = newest_checkpoint(ckpt_dir)
    state = load_checkpoint(latest, map_location="cpu") if latest is not None else None
    if state is not None and stale(state, run_config):
        # The settings changed (the rule reruns because its params did): these checkpoints are another run's.
        if world.main:
            aside = set_aside(ckpt_dir, state["config"]["config_hash"])
            note_event(ckpt_dir, f"settings changed: checkpoints moved to {aside.name}/, starting over")
        if world.size > 1:
            dist.barrier()
        latest = state = None
    if state is not None:
        model.load_state_dict(state["model"])
        for optimizer, saved in zip(optimizers, state["optimizers"], strict=True):
            optimizer.load_state_dict(saved)
        for scheduler, saved in zip(schedulers, state["schedulers"], strict=True):
            scheduler.load_state_dict(saved)
        step = int(state["step"])
        for stream in streams:
            position = state["streams"][stream.objective.name]
            stream.epoch, stream.batch = int(position["epoch"]), int(position["batch"])
        set_rng_state(state["rng"][world.rank])
        if world.main:
            print(f"resumed from {latest} at step {step}", file=sys.stderr)
            note_event(ckpt_dir, f"resumed from {latest.name} at step {step}")
    elif world.main:
        note_event(ckpt_dir, f"started from scratch, {world.size} process(es)")

    if world.size > 1:
        ids = [device.index] if device.type == "cuda" else None
        # Objectives use different parts of the model (clip encoder vs aggregator).
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)
    if cfg.compile:
        model = torch.compile(model)

    def checkpoint() -> None:
        rngs = [None] * world.size
        if world.size > 1:
            dist.all_gather_object(rngs, rng_state())
        else:
            rngs = [rng_state()]
        if world.main:
            state = {
                "model": unwrap(model).state_dict(),
                "optimizers": [o.state_dict() for o in optimizers],
                "schedulers": [s.state_dict() for s in schedulers],
                "step": step,
                "streams": {s.objective.name: s.state() for s in streams},
                "rng": rngs,
                "config": run_config or {},
            }
            save_checkpoint(state, ckpt_dir / f"step-{step:08d}.pt")
            for old in sorted(ckpt_dir.glob(CHECKPOINT_GLOB))[: -cfg.keep_checkpoints]:
                old.unlink()
        if world.size > 1:
            dist.barrier()

    stop = StopSignal()
    logger = TrainLog(
        Path(log_path or run_dir / "log.csv"), run_dir / "tb", enabled=world.main, resume_step=step
    )
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda" and cfg.bf16
        else contextlib.nullcontext()
    )
    steps_this_attempt = 0
    bar = tqdm(
        total=cfg.max_steps, initial=step, desc="train", unit="step", disable=not world.main, file=sys.stderr
    )
    model.train()
    while step < cfg.max_steps:
        started = time.perf_counter()
        row: dict[str, float] = {}
        clips = 0
        epoch_done = False
        for k, stream in enumerate(streams):
            obj = stream.objective
            if k > 0 and (step + 1) % obj.every:
                continue
            batch, done = stream.next()
            epoch_done |= done and k == 0
            batch = to_device(batch, device)
            with autocast:
                losses = model(batch, objective=obj.name)
            loss = sum(obj.weights.get(name, 1.0) * value for name, value in losses.items())
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            for optimizer in optimizers:
                optimizer.step()
            row.update({f"{obj.name}/{name}": float(value.detach()) for name, value in losses.items()})
            row[f"{obj.name}/loss"] = float(loss.detach())
            clips += clips_in(batch) * world.size
        for scheduler in schedulers:
            scheduler.step()
        step += 1
        steps_this_attempt += 1
        elapsed = time.perf_counter() - started
        row.update({"lr": optimizers[0].param_groups[0]["lr"], "clips_per_s": clips / max(elapsed, 1e-9)})
        if step % cfg.log_every == 0 or step == cfg.max_steps:
            logger.log(step, streams[0].epoch, row)
        bar.update(1)
        bar.set_postfix(
            loss=f"{row[f'{streams[0].objective.name}/loss']:.4f}", clips_s=f"{row['clips_per_s']:.1f}"
        )

        stopping = stop.received is not None or (cfg.stop_after and steps_this_attempt >= cfg.stop_after)
        if world.size > 1:
            flag = torch.tensor([float(bool(stopping))], device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            stopping = bool(flag.item())
        if stopping and step < cfg.max_steps:
            checkpoint()
            logger.close()
            bar.close()
            if world.main:
                why = signal.Signals(stop.received).name if stop.received else "stop_after"
                print(f"checkpointed at step {step}; exiting for resubmission", file=sys.stderr)
                note_event(ckpt_dir, f"{why}: checkpointed at step {step}, exit {PREEMPTED_EXIT_CODE}")
            raise SystemExit(PREEMPTED_EXIT_CODE)
        if step < cfg.max_steps and (step % cfg.checkpoint_every == 0 or epoch_done):
            checkpoint()
    bar.close()
    logger.close()
    if world.main:
        save_checkpoint(
            {"model": unwrap(model).state_dict(), "step": step, "config": run_config or {}}, final_path
        )
        note_event(ckpt_dir, f"finished at step {step}: {final_path}")
    if world.size > 1:
        dist.barrier()
        dist.destroy_process_group()
    return final_path


def publish_run(run_dir: str | Path, model_out: str | Path, config_out, log_out, run_config: dict) -> None:
    """After `train` wrote the final weights: the run's settings (JSON) and a copy of its live log as the
    rule's outputs. The live log stays in <run_dir>/checkpoints/ (log_path there) so that a rerun, which
    deletes declared outputs, still appends to it."""
    if Path(model_out).exists():
        write_text(config_out, json.dumps(run_config, indent=2, sort_keys=True) + "\n")
        log = Path(run_dir) / "checkpoints" / "log.csv"
        write_text(log_out, log.read_text() if log.exists() else "step,epoch\n")


def to_device(batch, device: torch.device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


class TrainLog:
    """log.csv, one row per logged step (every loss term seen so far; a term that has not run yet is nan), and
    TensorBoard events in tb/. Resuming keeps the rows up to the checkpoint's step."""

    def __init__(self, path: Path, tb_dir: Path, *, enabled: bool, resume_step: int):
        self.enabled = enabled
        self.path = path
        self.columns: list[str] = []
        self.last: dict[str, float] = {}
        self.writer = None
        if not enabled:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = []
        if self.path.exists():
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        self._rewrite(list(rows[0].keys()) if rows else [], rows)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(tb_dir), purge_step=resume_step + 1 if resume_step else None)

    def _rewrite(self, columns: list[str], rows: list[dict]) -> None:
        self.columns = columns
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            out = csv.DictWriter(f, columns, restval="nan")
            if columns:
                out.writeheader()
                out.writerows(rows)

    def log(self, step: int, epoch: int, row: dict[str, float]) -> None:
        if not self.enabled:
            return
        self.last.update(row)
        record = {"step": step, "epoch": epoch, "time": round(time.time(), 3), **self.last}
        if set(record) - set(self.columns):  # a new loss term: widen the table
            with open(self.path, newline="") as f:
                rows = list(csv.DictReader(f))
            self._rewrite(self.columns + [c for c in record if c not in self.columns], rows)
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.columns, restval="nan").writerow(record)
        if self.writer is not None:
            for name, value in row.items():
                self.writer.add_scalar(name, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None


def config_dict(cfg) -> dict:
    return asdict(cfg)
