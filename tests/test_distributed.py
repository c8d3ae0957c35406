"""The all-gather path: two gloo processes, each with half the batch, give the single-process gradients.

Each rank embeds its own rows, gathers them with `gather_with_grad` (frozen inputs with `gather_no_grad`),
and computes the loss of its own rows against the gathered batch. The single-process reference computes the
same loss on the whole batch in one process. Everything is float64, so the match is to 1e-6 or better.
"""

from __future__ import annotations

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from egoflow.distributed import gather_no_grad, gather_with_grad, local_rows, world
from egoflow.losses import egonce, state_change_loss, summary_loss, tag_positive_mask

WORLD, ROWS, DIM_IN, DIM = 2, 3, 5, 4  # 2 ranks × 3 rows = a global batch of 6
FROZEN = ("before", "after", "cfs", "summary", "summary_cfs", "verb", "noun")


def batch():
    """The global batch: raw inputs [6, ...] for the encoders, frozen texts, tags."""
    g = torch.Generator().manual_seed(0)
    n = WORLD * ROWS

    def rand(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    return {
        "clip": rand(n, DIM_IN),  # -> video embedding
        "frames": rand(n, 4, DIM_IN),  # -> frame embeddings
        "caption": rand(n, DIM_IN),  # -> text embedding (trainable text tower, as EgoVLP)
        "before": rand(n, DIM),
        "after": rand(n, DIM),
        "cfs": rand(n, 3, DIM),
        "summary": rand(n, DIM),
        "summary_cfs": rand(n, 4, DIM),
        "verb": (torch.rand(n, 3, generator=g) > 0.5).double(),
        "noun": (torch.rand(n, 3, generator=g) > 0.5).double(),
    }


def encoders():
    torch.manual_seed(1)
    return torch.nn.Linear(DIM_IN, DIM).double(), torch.nn.Linear(DIM_IN, DIM).double()


LOSSES = ("egonce", "egonce_symmetric", "state", "summary")
USES_TEXT = {"egonce", "egonce_symmetric"}


def loss(name, video, frames, text, b, rows):
    """One loss on (gathered) embeddings; video/frames/text carry the graph, the rest of b is frozen."""
    positives = tag_positive_mask(b["verb"], b["noun"])
    if name == "egonce":
        return egonce(video, text, positives, rows=rows)
    if name == "egonce_symmetric":
        return egonce(video, text, positives, symmetric=True, rows=rows)
    if name == "state":
        return state_change_loss(frames, b["before"], b["after"], b["cfs"], rows=rows)
    return summary_loss(video, b["summary"], b["summary_cfs"], positives, rows=rows)


def embed(video_net, text_net, b, name):
    """One forward per network: clip and frames through the video encoder, captions through the text one."""
    out = video_net(torch.cat([b["clip"][:, None], b["frames"]], 1))  # [n, 5, DIM]
    text = text_net(b["caption"]) if name in USES_TEXT else None  # DDP: an unused module is not called
    return out[:, 0], out[:, 1:], text


def _worker(rank, init_file, out_dir):
    torch.set_num_threads(1)
    for key in ("LOCAL_RANK", "SLURM_LOCALID"):
        os.environ.pop(key, None)
    dist.init_process_group("gloo", init_method="file://" + init_file, rank=rank, world_size=WORLD)
    try:
        assert world() == (rank, WORLD, rank)
        mine = local_rows(ROWS)
        local = {k: v[mine] for k, v in batch().items()}
        results = {}
        frozen = {k: gather_no_grad(local[k]) for k in FROZEN}
        # 1. gradients w.r.t. the embeddings themselves (leaves on each rank)
        for name in LOSSES:
            leaves = [local[k][..., :DIM].clone().requires_grad_() for k in ("clip", "frames", "caption")]
            loss(name, *(gather_with_grad(x) for x in leaves), frozen, mine).backward()
            results[f"inputs/{name}"] = [x.grad for x in leaves]
        # 2. parameter gradients of two small encoders under DDP (which averages them over ranks)
        video_net, text_net = (DistributedDataParallel(m) for m in encoders())
        for name in LOSSES:
            video, frames, text = embed(video_net, text_net, local, name)
            text = None if text is None else gather_with_grad(text)
            loss(name, gather_with_grad(video), gather_with_grad(frames), text, frozen, mine).backward()
            results[f"params/{name}"] = [
                p.grad.clone() if p.grad is not None else None
                for net in (video_net, text_net)
                for p in net.parameters()
            ]
            video_net.zero_grad(set_to_none=True)
            text_net.zero_grad(set_to_none=True)
        os.environ["LOCAL_RANK"] = "7"
        results["local_rank"] = world()[2]
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(str(out / "init"), str(out)), nprocs=WORLD, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


def reference_input_grads(name):
    b = batch()
    leaves = [b[k][..., :DIM].clone().requires_grad_() for k in ("clip", "frames", "caption")]
    loss(name, *leaves, b, slice(None)).backward()
    return [x.grad for x in leaves]


def reference_param_grads(name):
    b = batch()
    video_net, text_net = encoders()
    loss(name, *embed(video_net, text_net, b, name), b, slice(None)).backward()
    return [p.grad for net in (video_net, text_net) for p in net.parameters()]


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return torch.allclose(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", LOSSES)
def test_gathered_loss_gives_the_single_process_input_gradients(ranks, name):
    expected = reference_input_grads(name)
    for rank, result in enumerate(ranks):
        mine = slice(rank * ROWS, (rank + 1) * ROWS)
        for got, want in zip(result[f"inputs/{name}"], expected, strict=True):
            # a rank's leaf gets Σ over ranks of dL_r/dz = WORLD · dL/dz (L = mean of the ranks' losses)
            assert close(None if got is None else got / WORLD, None if want is None else want[mine]), name
    if name == "egonce":  # video->text only: the text gets gradient, but the frames none
        assert ranks[0][f"inputs/{name}"][1] is None


@pytest.mark.parametrize("name", LOSSES)
def test_ddp_parameter_gradients_equal_the_single_process_ones(ranks, name):
    expected = reference_param_grads(name)
    for result in ranks:
        got = result[f"params/{name}"]
        assert len(got) == len(expected) == 4
        for g, want in zip(got, expected, strict=True):
            assert close(g, want), name


def test_local_rank_comes_from_the_launcher(ranks):
    assert [r["local_rank"] for r in ranks] == [7, 7]


def test_identity_without_torch_distributed():
    assert not dist.is_initialized()
    assert world() == (0, 1, 0)
    assert local_rows(3) == slice(0, 3)
    x = torch.randn(3, 2, requires_grad=True)
    assert gather_with_grad(x) is x
    y = gather_no_grad(x)
    assert torch.equal(y, x) and not y.requires_grad
