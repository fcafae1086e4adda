"""Bits per byte, the one loss comparable across families.

BPB = Σ NLL (nats) / (ln 2 · Σ UTF-8 bytes), summed over the same windows for every model. Each
window is scored on its own (context = the window's bytes, matched across families)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from byteword.data import collate
from byteword.evaluation.bootstrap import resample_indices


class WindowScores(NamedTuple):
    nll: np.ndarray  # (n_windows,) total NLL in nats
    n_bytes: np.ndarray  # (n_windows,) UTF-8 bytes
    n_chunks: np.ndarray  # (n_windows,) words, patches or chunks the model drew (0 for flat models)

    @property
    def bpb(self) -> float:
        return bits_per_byte(self.nll, self.n_bytes)


@torch.no_grad()
def score_windows(model, windows: list[bytes], tokenizer=None, batch_size: int = 16,
                  progress: bool = False) -> WindowScores:
    """Per-window total NLL, byte counts and chunk counts."""
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    nll, n_bytes, n_chunks = [], [], []
    starts = range(0, len(windows), batch_size)
    for s in tqdm(starts, desc="scoring", disable=not progress, mininterval=5):
        chunk = windows[s : s + batch_size]
        batch = collate(chunk, model.batch_kind, tokenizer=tokenizer, max_word_bytes=model.cfg.max_word_bytes)
        out = model(batch.to(device))
        nll.append(-(out.byte_logprobs * out.byte_mask).sum(1).double().cpu().numpy())
        n_bytes.append(out.byte_mask.sum(1).cpu().numpy())
        chunks = out.boundaries if out.boundaries is not None else torch.zeros_like(out.byte_mask)
        n_chunks.append((chunks & out.byte_mask).sum(1).cpu().numpy())
    model.train(was_training)
    return WindowScores(np.concatenate(nll), np.concatenate(n_bytes).astype(np.int64),
                        np.concatenate(n_chunks).astype(np.int64))


def bits_per_byte(nll_nats, n_bytes) -> float:
    return float(np.sum(nll_nats) / (math.log(2) * np.sum(n_bytes)))


def bootstrap_ci(nll_nats, n_bytes, n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of BPB over windows resampled with replacement (a ratio of sums each time)."""
    nll_nats, n_bytes = np.asarray(nll_nats, float), np.asarray(n_bytes, float)
    idx = resample_indices(len(nll_nats), n_resamples, seed)
    samples = nll_nats[idx].sum(1) / (math.log(2) * n_bytes[idx].sum(1))
    alpha = (1 - level) / 2
    return float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))
