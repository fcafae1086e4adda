"""Percentile bootstrap intervals.

Item bootstraps (``resample_indices``, ``mean_ci``) serve the evaluations whose items
are independent: accuracies over words or sentences, cosines over pairs, probe scores over test items.

Bits per byte is a ratio of sums over evaluation windows, and the windows of one document are correlated,
so its intervals resample *documents* (clusters of windows), and seeds where a model has several runs:
``ratio_ci``, ``paired_difference``, ``seed_bpb`` and ``seed_paired_difference``. Every resample of one
comparison draws the same documents for every model (``DocumentResamples``), so two models are compared
by their paired difference on the same resampled test sets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

LN2 = math.log(2)
PAIRED_STREAM = 0  # the random stream of the seed draws shared by two models paired by seed
MODEL_STREAMS = (1, 2)  # the streams of two models' own seed draws (the first model's, the second's)


def resample_indices(n: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) indices drawn with replacement; a fixed seed makes every interval reproducible."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def counts_of(indices: np.ndarray, n: int) -> np.ndarray:
    """(R, k) draws of indices in [0, n) -> (R, n) how often each index is drawn in each row."""
    n_rows = len(indices)
    flat = indices + n * np.arange(n_rows)[:, None]  # row r's indices moved to [r * n, (r + 1) * n)
    return np.bincount(flat.ravel(), minlength=n_rows * n).reshape(n_rows, n)


def resample_counts(n: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) how often each item is drawn: the draws of ``resample_indices`` as counts, so a
    resampled sum is one matrix product."""
    return counts_of(resample_indices(n, n_resamples, seed), n)


def mean_ci(values, n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """Mean of per-item values with its interval: {"value", "ci_low", "ci_high", "n"}."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 0}
    means = values[resample_indices(len(values), n_resamples, seed)].mean(1)
    alpha = (1 - level) / 2
    return {"value": float(values.mean()), "ci_low": float(np.quantile(means, alpha)),
            "ci_high": float(np.quantile(means, 1 - alpha)), "n": len(values)}


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` share of (R,) bootstrap samples."""
    alpha = (1 - level) / 2
    return float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))


def document_interval(samples: np.ndarray, n_docs: int, level: float = 0.95) -> tuple[float, float]:
    """``percentile_interval`` of resamples over documents; NaN with fewer than two documents, where
    nothing can be resampled (a point interval would claim certainty)."""
    return percentile_interval(samples, level) if n_docs > 1 else (float("nan"), float("nan"))


# --- resampling clusters (documents) and seeds ---------------------------------------------------------


def cluster_codes(clusters) -> tuple[np.ndarray, int]:
    """(n_items,) cluster ids of any kind -> their codes 0..G-1 (in sorted order of the ids) and G."""
    ids, codes = np.unique(np.asarray(clusters), return_inverse=True)
    return codes.reshape(-1), len(ids)


def seed_weights(n_seeds: int, n_resamples: int = 1000, seed: int = 0, stream: int = PAIRED_STREAM) -> np.ndarray:
    """(n_resamples, n_seeds) weight of each run (seed) in each resample: seeds drawn with replacement, as
    counts / n_seeds, so a row averages the drawn seeds. A stream of its own (``stream``) keeps these draws
    independent of the documents' (drawn from ``seed`` alone). With one seed every weight is exactly 1."""
    rng = np.random.default_rng([seed, stream])
    return counts_of(rng.integers(0, n_seeds, size=(n_resamples, n_seeds)), n_seeds) / n_seeds


@dataclass(frozen=True)
class DocumentResamples:
    """Resampled test sets, shared by every model of a comparison. Resample r draws document g
    ``counts[r, g]`` times, and each window is drawn with its document; a resampled sum over windows is
    then ``counts @ (the sum over each document's windows)``."""

    codes: np.ndarray  # (n_windows,) document of each window, 0..n_docs-1
    counts: np.ndarray  # (R, n_docs) float64 (float for the BLAS matrix product; whole numbers)
    n_bytes: np.ndarray  # (n_windows,) scored bytes of each window
    byte_sums: np.ndarray  # (R,) scored bytes of each resampled test set
    seed: int

    @classmethod
    def draw(cls, n_bytes, clusters, n_resamples: int = 1000, seed: int = 0) -> "DocumentResamples":
        codes, n_docs = cluster_codes(clusters)
        counts = resample_counts(n_docs, n_resamples, seed).astype(np.float64)  # (R, G)
        n_bytes = np.asarray(n_bytes, dtype=np.float64)
        if len(codes) != len(n_bytes):
            raise ValueError(f"{len(n_bytes)} windows but {len(codes)} cluster ids")
        byte_sums = counts @ np.bincount(codes, weights=n_bytes, minlength=n_docs)
        return cls(codes, counts, n_bytes, byte_sums, seed)

    @property
    def n_resamples(self) -> int:
        return self.counts.shape[0]

    @property
    def n_docs(self) -> int:
        return self.counts.shape[1]

    @property
    def total_bytes(self) -> float:
        return float(self.n_bytes.sum())

    def runs(self, nll_by_seed, labels: Sequence | None = None) -> "Runs":
        """One model's runs: (S, n_windows) NLL in nats (or (n_windows,) for one run), with each run's seed
        label (default 0..S-1; None marks a deterministic run that pairs with no other)."""
        nll = np.atleast_2d(np.asarray(nll_by_seed, dtype=np.float64))  # (S, n_windows)
        if nll.shape[1] != len(self.codes):
            raise ValueError(f"runs score {nll.shape[1]} windows, the resamples hold {len(self.codes)}")
        labels = tuple(range(len(nll))) if labels is None else tuple(labels)
        if len(labels) != len(nll):
            raise ValueError(f"{len(labels)} seed labels for {len(nll)} runs")
        per_doc = np.stack([np.bincount(self.codes, weights=row, minlength=self.n_docs) for row in nll])  # (S, G)
        return Runs(labels, nll.sum(1), self.counts @ per_doc.T)


@dataclass(frozen=True)
class Runs:
    """One model's runs (seeds) on the shared windows, summed over all windows and over each resample."""

    labels: tuple  # (S,) seed of each run; None for a deterministic run (a baseline)
    totals: np.ndarray  # (S,) NLL in nats of each run over all windows
    resampled: np.ndarray  # (R, S) NLL in nats of each run over each resample's documents

    @property
    def n_seeds(self) -> int:
        return len(self.labels)


def bpb_samples(docs: DocumentResamples, runs: Runs, stream: int = MODEL_STREAMS[0]) -> np.ndarray:
    """(R,) BPB of each resample: the drawn seeds' mean BPB on the drawn documents. All runs score the same
    bytes, so the mean of the seeds' BPBs is the BPB of their mean NLL."""
    weights = seed_weights(runs.n_seeds, docs.n_resamples, docs.seed, stream)  # (R, S)
    return (runs.resampled * weights).sum(1) / (LN2 * docs.byte_sums)


def run_bpbs(docs: DocumentResamples, runs: Runs) -> np.ndarray:
    """(S,) each run's BPB on all of the documents."""
    return runs.totals / (LN2 * docs.total_bytes)


def mean_bpb(docs: DocumentResamples, runs: Runs) -> float:
    """The runs' mean BPB on all of the documents: ``bpb_interval``'s value, without its resamples."""
    return float(run_bpbs(docs, runs).mean())


def bpb_interval(docs: DocumentResamples, runs: Runs, level: float = 0.95) -> dict:
    """Mean BPB over seeds with its interval over resampled documents and seeds, the seeds' standard
    deviation (NaN with one seed) and n_seeds. With fewer than two documents nothing can be resampled and
    the interval is NaN (a point interval would claim certainty)."""
    per_seed = run_bpbs(docs, runs)  # (S,)
    low, high = document_interval(bpb_samples(docs, runs), docs.n_docs, level)
    return {"value": float(per_seed.mean()), "ci_low": low, "ci_high": high,
            "seed_sd": float(per_seed.std(ddof=1)) if runs.n_seeds > 1 else float("nan"), "n_seeds": runs.n_seeds}


def shared_seeds(a: Runs, b: Runs) -> tuple[list[int], list[int]]:
    """Row indices into a and b that pair their runs by seed (a's order) when both have the same seeds;
    none otherwise (other seeds, or a deterministic run): pairing a subset would drop runs, and the
    difference would no longer be the difference of the two models' mean BPBs."""
    if None in a.labels or None in b.labels or set(a.labels) != set(b.labels):
        return [], []
    rows_b = {label: j for j, label in enumerate(b.labels)}
    return list(range(a.n_seeds)), [rows_b[label] for label in a.labels]


def difference_samples(docs: DocumentResamples, a: Runs, b: Runs) -> tuple[float, np.ndarray, int]:
    """BPB_a - BPB_b: its value, its (R,) resamples on the same documents for both, and how many seeds were
    paired. Two models with the same seeds are paired by seed (one draw of seeds for both, the drawn seeds'
    differences averaged); otherwise each model's seeds are drawn on their own. Nats per byte are divided
    by ln 2 last, so a difference of c nats on every byte is exactly c / ln 2 in every resample."""
    rows_a, rows_b = shared_seeds(a, b)
    if rows_a:
        delta_totals = a.totals[rows_a] - b.totals[rows_b]  # (S,)
        delta = a.resampled[:, rows_a] - b.resampled[:, rows_b]  # (R, S)
        weights = seed_weights(len(rows_a), docs.n_resamples, docs.seed, PAIRED_STREAM)  # (R, S)
        samples = (delta * weights).sum(1) / docs.byte_sums / LN2
        return float(delta_totals.mean() / docs.total_bytes / LN2), samples, len(rows_a)
    value = (a.totals.mean() - b.totals.mean()) / (LN2 * docs.total_bytes)
    samples = bpb_samples(docs, a, MODEL_STREAMS[0]) - bpb_samples(docs, b, MODEL_STREAMS[1])
    return float(value), samples, 0


def difference_interval(docs: DocumentResamples, a: Runs, b: Runs, level: float = 0.95) -> dict:
    """{"value", "ci_low", "ci_high", "paired_seeds"} of BPB_a - BPB_b (``difference_samples``); NaN
    interval with fewer than two documents."""
    value, samples, paired = difference_samples(docs, a, b)
    low, high = document_interval(samples, docs.n_docs, level)
    return {"value": value, "ci_low": low, "ci_high": high, "paired_seeds": paired}


# --- one-call forms on plain arrays --------------------------------------------------------------------


def ratio_ci(nll, n_bytes, clusters, n_resamples: int = 1000, level: float = 0.95,
             seed: int = 0) -> tuple[float, float]:
    """Percentile interval of BPB = Σ nll / (ln 2 · Σ n_bytes) over windows, resampling their clusters
    (documents) with replacement. With every window its own cluster this is the window bootstrap."""
    docs = DocumentResamples.draw(n_bytes, clusters, n_resamples, seed)
    result = bpb_interval(docs, docs.runs(nll), level)
    return result["ci_low"], result["ci_high"]


def paired_difference(nll_a, nll_b, n_bytes, clusters, n_resamples: int = 1000, level: float = 0.95,
                      seed: int = 0) -> dict:
    """BPB_a - BPB_b of two models on the same windows: {"value", "ci_low", "ci_high"}, the interval from the
    same resampled documents for both (a model against itself: exactly [0, 0])."""
    result = seed_paired_difference(nll_a, nll_b, n_bytes, clusters, n_resamples=n_resamples, level=level, seed=seed)
    return {k: result[k] for k in ("value", "ci_low", "ci_high")}


def seed_bpb(nll_by_seed, n_bytes, clusters, n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """One model's runs, (S, n_windows) NLL on the same windows: {"value" (mean BPB over seeds), "ci_low",
    "ci_high" (seeds and documents resampled together), "seed_sd" (NaN with one seed), "n_seeds"}."""
    docs = DocumentResamples.draw(n_bytes, clusters, n_resamples, seed)
    return bpb_interval(docs, docs.runs(nll_by_seed), level)


def seed_paired_difference(nll_a, nll_b, n_bytes, clusters, seeds_a: Sequence | None = None,
                           seeds_b: Sequence | None = None, n_resamples: int = 1000, level: float = 0.95,
                           seed: int = 0) -> dict:
    """BPB_a - BPB_b of two models' runs, (S_a, n_windows) and (S_b, n_windows) NLL on the same windows, with
    their seed labels (default 0..S-1; None for a deterministic run): {"value", "ci_low", "ci_high",
    "paired_seeds"}, paired by seed when both have the same seeds (see ``difference_samples``)."""
    docs = DocumentResamples.draw(n_bytes, clusters, n_resamples, seed)
    return difference_interval(docs, docs.runs(nll_a, seeds_a), docs.runs(nll_b, seeds_b), level)
