"""The one training loop: DDP is exact, resuming is bit-exact, signals checkpoint and exit for resubmission.

The model is the real tiny counterfactual-pretraining model with its real losses; only the data is synthetic
(in-memory clips and text vectors with the shapes the video stage and the text-feature stores give), so these
tests need no videos. The workflow-level tests (kill the rule, SLURM) are in test_pretrain_workflow.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from egoflow.checkpoint import load_checkpoint
from egoflow.pretrain import CounterfactualPretraining, LossConfig, collate_with_negatives
from egoflow.train import PREEMPTED_EXIT_CODE, Objective, ResumableSampler, TrainConfig, World, train

TEXT_DIM = 32


class SyntheticClips(torch.utils.data.Dataset):
    """Items shaped like ClipTextDataset's: (anchor, negative), each a dict of tensors; fixed by the index."""

    def __init__(self, n: int = 16, frames: int = 4, size: int = 64):
        self.n, self.frames, self.size = n, frames, size

    def __len__(self) -> int:
        return self.n

    def item(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        hot = lambda k, i=i: torch.nn.functional.one_hot(torch.tensor(i % k), k).float()  # noqa: E731
        return {
            "video": torch.randn(self.frames, 3, self.size, self.size, generator=g),
            "text": torch.randn(TEXT_DIM, generator=g),
            "before": torch.randn(TEXT_DIM, generator=g),
            "after": torch.randn(TEXT_DIM, generator=g),
            "counterfactuals": torch.randn(3, TEXT_DIM, generator=g),
            "verbs": hot(3),
            "nouns": hot(5),
        }

    def __getitem__(self, i: int):
        return self.item(i), self.item((i + 7) % self.n)


class SyntheticSummaries(torch.utils.data.Dataset):
    def __init__(self, n: int = 4, clips: int = 4, frames: int = 4, size: int = 64):
        self.n, self.clips, self.frames, self.size = n, clips, frames, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(1000 + i)
        return {
            "video": torch.randn(self.clips, self.frames, 3, self.size, self.size, generator=g),
            "summary": torch.randn(TEXT_DIM, generator=g),
            "counterfactuals": torch.randn(20, TEXT_DIM, generator=g),
        }


def tiny_model(seed: int = 0) -> torch.nn.Module:
    from egoflow.models.counterfactual import CounterfactualModel, CounterfactualModelConfig

    torch.manual_seed(seed)
    # No stochastic depth: N processes draw different random numbers than one.
    config = CounterfactualModelConfig.from_dict(
        {"video": {"img_size": 64, "dim": 64, "depth": 2, "heads": 4, "time_init": "rand"}, "projection_dim": 64,
         "aggregator": {"depth": 1, "heads": 4, "drop_path": 0.0}, "text_dim": TEXT_DIM}
    )  # fmt: skip
    return CounterfactualPretraining(CounterfactualModel(config), LossConfig(aggregation_every=2))


def objectives(per_process_batch: int, summary_batch: int) -> list[Objective]:
    return [
        Objective("clips", SyntheticClips(), per_process_batch, collate=collate_with_negatives),
        Objective("summaries", SyntheticSummaries(), summary_batch, every=2),
    ]


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def _ddp_worker(rank: int, world: int, workdir: str, port: int) -> None:
    os.environ.update(
        {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank), "MASTER_ADDR": "127.0.0.1",
         "MASTER_PORT": str(port)}
    )  # fmt: skip
    torch.set_num_threads(1)
    # Adam's first steps move every weight by about +-lr whatever its gradient's size (m / sqrt(v) ~ sign(g)),
    # so an entry whose true gradient is 0 would step by the sign of float rounding noise. Random-initialised
    # time attention (zero-initialised it has exactly such entries) and eps 1e-4 keep this a test of gradients.
    cfg = TrainConfig(max_steps=3, lr=1e-4, eps=1e-4, checkpoint_every=100, log_every=1, device="cpu")
    run = Path(workdir)
    train(tiny_model(), objectives(4 // world, 2 // world), cfg, run, run / "model.pt")


def test_two_gloo_processes_train_the_same_weights_as_one(tmp_path):
    # Global batch: 4 anchors + 4 negatives and 2 summaries per step, as 1 x 4 or as 2 x 2 per process.
    single, double = tmp_path / "one", tmp_path / "two"
    mp.spawn(_ddp_worker, args=(1, str(single), 29611), nprocs=1, join=True)
    mp.spawn(_ddp_worker, args=(2, str(double), 29612), nprocs=2, join=True)
    a, b = weights(single / "model.pt"), weights(double / "model.pt")
    assert a.keys() == b.keys()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    moved = max((a[k] - tiny_model().state_dict()[k]).abs().max().item() for k in a)
    print(
        f"largest weight difference 1 vs 2 processes after 3 steps: {worst:.2e} (largest change {moved:.2e})"
    )
    assert moved > 1e-4  # the steps changed the weights (3 steps of lr 1e-4)
    assert worst < 1e-5


def test_sampler_splits_each_global_batch_by_rank():
    # 10 items, 2 per process, 2 processes: global batches of 4, 2 full ones per epoch (2 items dropped).
    one = list(ResumableSampler(10, 4, World(0, 1, 0), seed=3))
    halves = [list(ResumableSampler(10, 2, World(r, 2, r), seed=3)) for r in (0, 1)]
    assert len(one) == 8
    for b in range(2):
        assert one[4 * b : 4 * b + 4] == halves[0][2 * b : 2 * b + 2] + halves[1][2 * b : 2 * b + 2]
    # Resuming at batch 1 yields exactly the rest.
    assert list(ResumableSampler(10, 4, World(), seed=3, start=1)) == one[4:]


def run_steps(run: Path, max_steps: int, **overrides) -> None:
    cfg = TrainConfig(
        max_steps=max_steps, lr=1e-3, checkpoint_every=2, log_every=1, device="cpu", **overrides
    )
    train(tiny_model(), objectives(2, 1), cfg, run, run / "model.pt")


def test_interrupted_and_resumed_run_ends_bit_exact(tmp_path):
    # 16 items / batch 2 = 8 steps per epoch: 10 steps cross an epoch; stop after 5 (mid-epoch, between the
    # checkpoints at 4 and 6) and resume.
    run_steps(tmp_path / "straight", 10)
    with pytest.raises(SystemExit) as stopped:
        run_steps(tmp_path / "resumed", 10, stop_after=5)
    assert stopped.value.code == PREEMPTED_EXIT_CODE
    assert (tmp_path / "resumed/checkpoints/step-00000005.pt").is_file()
    assert not (tmp_path / "resumed/model.pt").exists()
    run_steps(tmp_path / "resumed", 10)
    a, b = weights(tmp_path / "straight/model.pt"), weights(tmp_path / "resumed/model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from the uninterrupted run"
    log = (tmp_path / "resumed/log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log[1:]] == [str(s) for s in range(1, 11)]


SIGNAL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_train import run_steps
from pathlib import Path
import time, torch
import egoflow.train as t
slow = t.ObjectiveStream.next
def next_slowly(self):
    time.sleep(0.3)
    return slow(self)
t.ObjectiveStream.next = next_slowly  # time for the signal to land mid-run
run_steps(Path({run!r}), 40)
"""


@pytest.mark.parametrize("signum", [signal.SIGUSR1, signal.SIGTERM])
def test_warning_signal_checkpoints_and_exits_for_resubmission(tmp_path, signum):
    run = tmp_path / "run"
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SIGNAL_SCRIPT.format(tests=str(Path(__file__).parent), run=str(run))))
    proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True)
    log = run / "log.csv"
    for _ in range(600):  # wait for the first logged steps
        if log.exists() and len(log.read_text().splitlines()) > 3:
            break
        assert proc.poll() is None, proc.stderr.read()
        import time

        time.sleep(0.1)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == PREEMPTED_EXIT_CODE, err[-3000:]
    assert "checkpointed at step" in err
    saved = sorted((run / "checkpoints").glob("step-*.pt"))
    assert saved and load_checkpoint(saved[-1])["step"] < 40
    assert not (run / "model.pt").exists()


def test_ranks_come_from_torchrun_or_from_srun_tasks(monkeypatch):
    from egoflow.train import world_from_environment

    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"):
        monkeypatch.delenv(var, raising=False)
    assert world_from_environment() == World(0, 1, 0)
    # srun: 8 tasks over 2 nodes, this is the 2nd task of the 2nd node.
    monkeypatch.setenv("SLURM_PROCID", "5")
    monkeypatch.setenv("SLURM_NTASKS", "8")
    monkeypatch.setenv("SLURM_LOCALID", "1")
    assert world_from_environment() == World(5, 8, 1)
    # torchrun's variables win (a torchrun inside a one-task SLURM job).
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert world_from_environment() == World(2, 4, 2)


def test_launch_commands():
    from egoflow.train import Geometry, launch_command

    assert launch_command("egoflow.pretrain", ["s.json"]) == [
        sys.executable,
        "-m",
        "egoflow.pretrain",
        "s.json",
    ]
    four = launch_command("egoflow.pretrain", ["s.json"], Geometry(nproc=4))
    assert four[:5] == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=4"]
    assert four[-3:] == ["-m", "egoflow.pretrain", "s.json"]
    two_nodes = Geometry.from_resources({"mpi": "srun", "nodes": 2, "tasks_per_node": 4, "cpus_per_task": 8})
    assert launch_command("egoflow.pretrain", ["s.json"], two_nodes)[:5] == [
        "srun",
        "--kill-on-bad-exit=1",
        "--nodes=2",
        "--ntasks-per-node=4",
        "--cpus-per-task=8",
    ]
    # A one-node job: one process per GPU of the job.
    assert Geometry.from_resources({"gpu": 2, "mem_mb": 1000}) == Geometry(nproc=2)


def test_checkpoints_of_other_settings_are_set_aside_not_resumed(tmp_path):
    run = tmp_path / "run"
    cfg = TrainConfig(max_steps=4, lr=1e-3, checkpoint_every=2, log_every=1, device="cpu")
    with pytest.raises(SystemExit):
        train(tiny_model(), objectives(2, 1), TrainConfig(**{**cfg.__dict__, "stop_after": 3}), run,
              run / "model.pt", run_config={"config_hash": "aaaa"})  # fmt: skip
    # The rule reran because a setting changed: a new hash. Nothing of the old run may be resumed.
    train(tiny_model(), objectives(2, 1), cfg, run, run / "model.pt", run_config={"config_hash": "bbbb"})
    events = (run / "checkpoints/events.log").read_text()
    assert "settings changed: checkpoints moved to stale-aaaa/, starting over" in events
    assert "resumed" not in events
    assert sorted(p.name for p in (run / "checkpoints/stale-aaaa").iterdir()) == [
        "step-00000002.pt",
        "step-00000003.pt",
    ]
    straight = tmp_path / "straight"
    train(
        tiny_model(),
        objectives(2, 1),
        cfg,
        straight,
        straight / "model.pt",
        run_config={"config_hash": "bbbb"},
    )
    a, b = weights(run / "model.pt"), weights(straight / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


class TwoOptimisers(torch.nn.Module):
    """A regression whose head steps with SGD and whose body with AdamW (ChangeIt's split)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body, self.head = torch.nn.Linear(4, 8), torch.nn.Linear(8, 1)

    def configure_optimizers(self, cfg: TrainConfig) -> list[torch.optim.Optimizer]:
        return [
            torch.optim.SGD(self.head.parameters(), lr=0.1, momentum=0.9),
            torch.optim.AdamW(self.body.parameters(), lr=cfg.lr),
        ]

    def forward(self, batch, objective):
        return {"mse": torch.nn.functional.mse_loss(self.head(self.body(batch["x"])).squeeze(-1), batch["y"])}


class Regression(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 32

    def __getitem__(self, i: int) -> dict:
        x = torch.randn(4, generator=torch.Generator().manual_seed(i))
        return {"x": x, "y": x.sum()}


def test_a_model_may_bring_its_own_optimisers_and_they_resume(tmp_path):
    cfg = TrainConfig(
        max_steps=12, lr=1e-2, checkpoint_every=100, log_every=1, device="cpu", schedule="cosine"
    )
    objective = [Objective("main", Regression(), batch_size=4)]
    straight = train(TwoOptimisers(), objective, cfg, tmp_path / "a", tmp_path / "a.pt")
    with pytest.raises(SystemExit):
        train(
            TwoOptimisers(),
            objective,
            TrainConfig(**{**cfg.__dict__, "stop_after": 5}),
            tmp_path / "b",
            tmp_path / "b.pt",
        )
    (saved,) = (tmp_path / "b/checkpoints").glob("step-*.pt")
    state = load_checkpoint(saved)
    assert [len(s["param_groups"]) for s in state["optimizers"]] == [1, 1]
    assert "momentum_buffer" in state["optimizers"][0]["state"][0]  # SGD's own state is what resumes
    resumed = train(TwoOptimisers(), objective, cfg, tmp_path / "b", tmp_path / "b.pt")
    for name, value in weights(straight).items():
        assert torch.equal(value, weights(resumed)[name]), name
    # The body moved too (AdamW stepped it): both optimisers step on every loss.
    assert not torch.equal(weights(straight)["body.weight"], TwoOptimisers().state_dict()["body.weight"])
