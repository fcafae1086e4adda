"""Bits per byte, the one loss comparable across families.

BPB = Σ NLL (nats) / (ln 2 · Σ UTF-8 bytes), summed over the same windows for every model. Each
window is scored on its own (context = the window's bytes, matched across families)."""

from __future__ import annotations

import math

import numpy as np
import torch
from tqdm import tqdm

from byteword.data import collate


@torch.no_grad()
def score_windows(model, windows: list[bytes], tokenizer=None, batch_size: int = 16,
                  progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-window total NLL in nats and byte counts, both shape (n_windows,)."""
    was_training = model.training
    model.eval()
    nll, n_bytes = [], []
    starts = range(0, len(windows), batch_size)
    for s in tqdm(starts, desc="scoring", disable=not progress, mininterval=5):
        chunk = windows[s : s + batch_size]
        out = model(collate(chunk, model.batch_kind, tokenizer=tokenizer, max_word_bytes=model.cfg.max_word_bytes))
        nll.append(-(out.byte_logprobs * out.byte_mask).sum(1).double().numpy())
        n_bytes.append(out.byte_mask.sum(1).numpy())
    model.train(was_training)
    return np.concatenate(nll), np.concatenate(n_bytes).astype(np.int64)


def bits_per_byte(nll_nats, n_bytes) -> float:
    return float(np.sum(nll_nats) / (math.log(2) * np.sum(n_bytes)))


def bootstrap_ci(nll_nats, n_bytes, n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of BPB over windows resampled with replacement (a ratio of sums each time)."""
    nll_nats, n_bytes = np.asarray(nll_nats, float), np.asarray(n_bytes, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(nll_nats), size=(n_resamples, len(nll_nats)))
    samples = nll_nats[idx].sum(1) / (math.log(2) * n_bytes[idx].sum(1))
    alpha = (1 - level) / 2
    return float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))
