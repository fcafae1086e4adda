"""Analytic forward FLOPs per byte for every family, under one convention.

Convention: 2 FLOPs per multiply-add of every matmul, output heads included; embedding lookups,
norms and activations free. Attention scores and weighted sums cost 2·2·T·d per position and layer,
with T the full sequence length (full T×T, not halved for causality) or the window when one is set.
Each window is counted as the model computes it alone: every position the family itself adds (BOS,
word tokens, padding of a window to whole patches) is counted;
padding that only batching adds is not. Boundary models count from the boundaries they really draw
on the windows (so FLOPs follow the measured bytes per chunk). Training FLOPs = 3 × forward.

Each family implements ``analytic_flops(batch)`` for a batch holding one window, built from
``stack_flops`` and ``linear_flops``."""

from __future__ import annotations

import torch

TRAIN_MULTIPLIER = 3


def stack_flops(positions: float, seq_len: float, d_model: int, n_layers: int, window: int | None = None) -> float:
    """Forward FLOPs of a block stack: matmuls (12·d² weights per layer: qkv, proj, 4x MLP) and attention."""
    attended = min(seq_len, window) if window else seq_len
    per_position = n_layers * (2 * 12 * d_model**2 + 4 * attended * d_model)
    return positions * per_position


def linear_flops(positions: float, d_in: int, d_out: int) -> float:
    """Forward FLOPs of a bias-free linear map (a projection or an output head) at ``positions`` positions."""
    return positions * 2 * d_in * d_out


@torch.no_grad()
def forward_flops(model, windows: list[bytes], tokenizer=None) -> tuple[float, int]:
    """(forward FLOPs, bytes) of ``model`` over ``windows``, each window counted on its own."""
    total, n_bytes = 0.0, 0
    device = next(model.parameters()).device  # boundary models run their router to count chunks
    for window in windows:
        batch = model.collate([window], tokenizer)
        total += model.analytic_flops(batch.to(device))
        n_bytes += int(batch.byte_mask.sum())
    return total, n_bytes


def forward_flops_per_byte(model, windows: list[bytes], tokenizer=None) -> float:
    flops, n_bytes = forward_flops(model, windows, tokenizer)
    return flops / max(n_bytes, 1)
