"""Data parallelism on one node: one process per GPU under ``torchrun`` (or per CPU share, with gloo).

Every rank draws the same global batch from the same seeded sampler and keeps its own share, so the
sampler state is identical everywhere and resume needs no per-rank state. The loss of a step is the
summed NLL divided by the GLOBAL number of predicted bytes, and gradients are SUMMED across ranks
(not averaged), so a step equals one big batch however it is split over ranks and accumulation
steps. Gradients are reduced once per step, after accumulation, as one flat buffer; parameters a
rank's share did not reach count as zero gradient there. Single-process runs never touch
``torch.distributed``."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    device: str = "cpu"  # this rank's device: "cuda:<local rank>" under torchrun on GPUs

    @property
    def is_main(self) -> bool:
        """Rank 0 alone evaluates and writes checkpoints and outputs."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init(device: str) -> Context:
    """The process group when launched by torchrun (``WORLD_SIZE`` > 1), else a single-process context.
    Backend: nccl on CUDA, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Context(device=device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"rank {rank} wants GPU {local_rank} but only {torch.cuda.device_count()} are "
                               f"visible; launch at most that many processes per node")
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return Context(rank=rank, world_size=world, device=device)


def shutdown(ctx: Context) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def sum_across(values: list[float], ctx: Context) -> list[float]:
    """Element-wise sum of ``values`` over ranks (float64, so byte counts stay exact)."""
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return t.tolist()


def sum_gradients(params: list[torch.nn.Parameter], ctx: Context) -> None:
    """Sum every parameter's gradient over ranks in place (one all-reduce of a flat buffer)."""
    if not ctx.enabled:
        return
    for p in params:
        if p.grad is None:  # unused by this rank's share; another rank may have used it
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])  # (total parameters,)
    dist.all_reduce(flat)
    offset = 0
    for p in params:
        p.grad.copy_(flat[offset: offset + p.numel()].view_as(p))
        offset += p.numel()


def barrier(ctx: Context) -> None:
    if ctx.enabled:
        dist.barrier()
