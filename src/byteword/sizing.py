"""Compute matching: size a model's backbone so its forward FLOPs per byte hit a target.

The backbone is the level every family has (the whole stack of a transformer, the word/patch/chunk
model of the others). Its width is searched over multiples of 2·n_heads (heads of even size), its
depth and every other level kept, and the width whose measured FLOPs per byte come closest to the
target wins. A model that learns its chunks draws few of them untrained (H-Net: about one per 26
bytes on English), so it is sized as if its chunks had the target length training steers toward
(``count_flops_at_target_rate``); training records the FLOPs per byte it really reaches."""

from __future__ import annotations

import logging

import torch

from byteword.flops import forward_flops_per_byte
from byteword.models import ModelConfig, build_model

log = logging.getLogger(__name__)
MAX_WIDTH = 8192


def measure(cfg: ModelConfig, windows: list[bytes], tokenizer=None, seed: int = 0) -> float:
    torch.manual_seed(seed)
    model = build_model(cfg, tokenizer)
    model.count_flops_at_target_rate()
    return forward_flops_per_byte(model, windows, tokenizer)


def size_to_flops_per_byte(cfg: ModelConfig, target: float, windows: list[bytes], tokenizer=None,
                           seed: int = 0) -> tuple[ModelConfig, float]:
    """The config whose backbone width brings forward FLOPs per byte closest to ``target``, and that value.
    FLOPs grow with the width: from the configured width, double (or halve) until the target is
    bracketed, then bisect over width steps."""
    step = 2 * cfg.backbone.n_heads
    width = cfg.backbone.d_model

    def fpb(units: int) -> float:
        return measure(cfg.with_backbone_width(units * step), windows, tokenizer, seed)

    lo = hi = max(width // step, 1)
    lo_fpb = hi_fpb = fpb(lo)
    while hi_fpb < target:
        if hi * 2 * step > MAX_WIDTH:
            raise ValueError(f"model '{cfg.name}': a backbone of width {hi * step} reaches only {hi_fpb:.3g} "
                             f"FLOPs per byte, below the target {target:.3g}; add backbone layers")
        lo, lo_fpb = hi, hi_fpb
        hi *= 2
        hi_fpb = fpb(hi)
    while lo_fpb > target:
        if lo == 1:
            raise ValueError(f"model '{cfg.name}': even a backbone of width {step} needs {lo_fpb:.3g} FLOPs per "
                             f"byte, above the target {target:.3g}; shrink its other levels or raise the target")
        hi, hi_fpb = lo, lo_fpb
        lo = max(lo // 2, 1)
        lo_fpb = fpb(lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        mid_fpb = fpb(mid)
        if mid_fpb < target:
            lo, lo_fpb = mid, mid_fpb
        else:
            hi, hi_fpb = mid, mid_fpb
    best, achieved = (lo, lo_fpb) if target - lo_fpb <= hi_fpb - target else (hi, hi_fpb)
    log.info("%s: backbone width %d gives %.4g FLOPs/byte (target %.4g)", cfg.name, best * step, achieved, target)
    return cfg.with_backbone_width(best * step), achieved
