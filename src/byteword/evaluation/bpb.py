"""Bits per byte, the one loss comparable across families.

BPB = Σ NLL (nats) / (ln 2 · Σ UTF-8 bytes), summed over the same scored spans for every model: each
window (``byteword.data.eval_windows``) scores its span after reading the bytes before it as context,
and every byte of a document is scored exactly once."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from byteword.data import as_window


class WindowScores(NamedTuple):
    nll: np.ndarray  # (n_windows,) NLL in nats of each window's scored span
    n_bytes: np.ndarray  # (n_windows,) UTF-8 bytes of each scored span
    n_chunks: np.ndarray  # (n_windows,) words, patches or chunks the model drew in the span (0 for flat models)
    doc: np.ndarray  # (n_windows,) the document each window belongs to: the unit intervals resample

    @property
    def bpb(self) -> float:
        return bits_per_byte(self.nll, self.n_bytes)

    def rows(self, doc=None, **columns) -> pd.DataFrame:
        """The per-window rows the summaries resample (``window_rows``), by default clustered by document."""
        return window_rows(self.nll, self.n_bytes, self.doc if doc is None else doc, **columns)


def window_rows(nll, n_bytes, doc, **columns) -> pd.DataFrame:
    """One row per window: ``columns`` (a condition such as perturbation="all_caps", or more per-window
    values), then window (its index), doc (the cluster intervals resample), nll_nats and n_bytes."""
    return pd.DataFrame({**columns, "window": range(len(nll)), "doc": doc, "nll_nats": nll, "n_bytes": n_bytes})


@torch.no_grad()
def score_windows(model, windows, tokenizer=None, batch_size: int = 16, progress: bool = False,
                  by_position: np.ndarray | None = None) -> WindowScores:
    """Per-window NLL, byte counts and chunk counts over each window's scored span (``Window.score_from``
    onward; plain bytes are scored whole). With ``by_position`` (a (2, P) float array) the NLL and the
    byte count of every scored byte are also added at its position in the window (a BPE window can
    reach back a few bytes past the context to a token's start, so P should exceed the context)."""
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    nll, n_bytes, n_chunks = [], [], []
    windows = [as_window(w) for w in windows]
    starts = range(0, len(windows), batch_size)
    for s in tqdm(starts, desc="scoring", disable=not progress, mininterval=5):
        batch = model.collate(windows[s : s + batch_size], tokenizer)
        out = model(batch.to(device))
        scored = batch.score_mask.to(device)  # (B, W)
        lp = (out.byte_logprobs * scored).double()
        nll.append(-lp.sum(1).cpu().numpy())
        n_bytes.append(scored.sum(1).cpu().numpy())
        chunks = out.boundaries if out.boundaries is not None else torch.zeros_like(scored)
        n_chunks.append((chunks & scored).sum(1).cpu().numpy())
        if by_position is not None:  # positions past its width (none when it spans 2 contexts) are not counted
            W = min(lp.shape[1], by_position.shape[1])
            by_position[0, :W] -= lp[:, :W].sum(0).cpu().numpy()
            by_position[1, :W] += scored[:, :W].sum(0).cpu().numpy()
    model.train(was_training)
    return WindowScores(np.concatenate(nll), np.concatenate(n_bytes).astype(np.int64),
                        np.concatenate(n_chunks).astype(np.int64), np.array([w.doc for w in windows], dtype=np.int64))


def interval_clusters(windows, min_docs: int = 8, block_bytes: int = 2048) -> tuple[np.ndarray, str]:
    """The unit an interval resamples, per window, and its name: the document, unless the text holds
    fewer than ``min_docs`` documents (one Bulgarian article, say), when a document's consecutive
    ``block_bytes`` blocks stand in for it (a block bootstrap; narrower than the truth would be)."""
    windows = [as_window(w) for w in windows]
    docs = np.array([w.doc for w in windows], dtype=np.int64)
    if len(np.unique(docs)) >= min_docs:
        return docs, "document"
    blocks = np.array([(w.offset + w.score_from) // block_bytes for w in windows], dtype=np.int64)
    return np.unique(np.stack([docs, blocks], 1), axis=0, return_inverse=True)[1].ravel(), f"{block_bytes}-byte block"


def bits_per_byte(nll_nats, n_bytes) -> float:
    return float(np.sum(nll_nats) / (math.log(2) * np.sum(n_bytes)))
