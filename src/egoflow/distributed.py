"""Ranks and the all-gathers the contrastive losses need.

Contrastive losses compare every anchor with every candidate of the GLOBAL batch, so embeddings are gathered
from all processes. The rule that makes this exact under DDP:

    every rank computes the loss of ITS OWN anchor rows against the GLOBAL candidates (mean over its n rows),
    and `gather_with_grad` sums the gradient arriving at the gathered tensor over ranks in backward.

Why it is exact. Let Z = [z_1 .. z_N] be the gathered rows (N = W·n over W ranks), ℓ_i(Z) the loss of
anchor i, and L = (1/N) Σ_i ℓ_i the single-process loss of the whole batch. Rank r computes
L_r = (1/n) Σ_{i ∈ rows_r} ℓ_i, so L = (1/W) Σ_r L_r. Backward on rank r brings dL_r/dZ (all N rows) to the
gather; after the SUM all-reduce rank r keeps its own rows, g_k = Σ_r' dL_r'/dz_k for k ∈ rows_r, and
backpropagates them through its encoder into Σ_{k ∈ rows_r} g_k dz_k/dθ. DDP averages over ranks:
(1/W) Σ_k Σ_r' dL_r'/dz_k dz_k/dθ = Σ_k dL/dz_k dz_k/dθ = dL/dθ, the single-process gradient. It needs the
same n on every rank (all_gather needs it too).

Without torch.distributed initialised every function here is the identity (one process, rank 0).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def world() -> tuple[int, int, int]:
    """(rank, world_size, local_rank); (0, 1, 0) when torch.distributed is not initialised.

    local_rank comes from LOCAL_RANK (torchrun), else SLURM_LOCALID (srun), else the rank (one node).
    """
    if not is_distributed():
        return 0, 1, 0
    rank = dist.get_rank()
    local = os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", str(rank)))
    return rank, dist.get_world_size(), int(local)


def local_rows(n: int) -> slice:
    """This rank's rows in a tensor gathered from n rows per rank."""
    rank, _, _ = world()
    return slice(rank * n, (rank + 1) * n)


def _all_gather(x: torch.Tensor) -> torch.Tensor:
    x = x.contiguous()
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x)
    return torch.cat(parts, dim=0)


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.rows = local_rows(x.shape[0])
        return _all_gather(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        # every rank's loss depends on our rows: sum their gradients, keep our slice
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rows]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """All-gather along dim 0 keeping the graph: [n, ...] -> [world·n, ...], rank-major.

    Backward all-reduces (SUM) the incoming gradient and returns this rank's slice (the module docstring says
    why that, with each rank averaging the loss over its own rows, reproduces the single-process gradient).
    """
    if not is_distributed() or dist.get_world_size() == 1:
        return x
    return _GatherWithGrad.apply(x)


@torch.no_grad()
def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """All-gather along dim 0 without a graph (frozen text features, tags): [n, ...] -> [world·n, ...]."""
    if not is_distributed() or dist.get_world_size() == 1:
        return x.detach()
    return _all_gather(x)
