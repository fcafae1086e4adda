"""Percentile bootstrap intervals shared by the evaluations whose statistic is not a BPB ratio
(accuracies over words or sentences, cosines over pairs, probe scores over test items)."""

from __future__ import annotations

from typing import Callable

import numpy as np


def resample_indices(n: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) indices drawn with replacement; a fixed seed makes every interval reproducible."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def resample_counts(n: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) how often each item is drawn: the draws of ``resample_indices`` as counts, so a
    resampled sum is one matrix product."""
    idx = resample_indices(n, n_resamples, seed)  # (R, n)
    flat = idx + n * np.arange(n_resamples)[:, None]
    return np.bincount(flat.ravel(), minlength=n_resamples * n).reshape(n_resamples, n)


def statistic_ci(n: int, statistic: Callable[[np.ndarray], float], n_resamples: int = 1000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Interval of ``statistic(indices)`` over resampled item indices (items: words, pairs, sentences)."""
    if n == 0:
        return float("nan"), float("nan")
    samples = np.array([statistic(i) for i in resample_indices(n, n_resamples, seed)], dtype=float)
    alpha = (1 - level) / 2
    return float(np.nanquantile(samples, alpha)), float(np.nanquantile(samples, 1 - alpha))


def mean_ci(values, n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """Mean of per-item values with its interval: {"value", "ci_low", "ci_high", "n"}."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 0}
    means = values[resample_indices(len(values), n_resamples, seed)].mean(1)
    alpha = (1 - level) / 2
    return {"value": float(values.mean()), "ci_low": float(np.quantile(means, alpha)),
            "ci_high": float(np.quantile(means, 1 - alpha)), "n": len(values)}
