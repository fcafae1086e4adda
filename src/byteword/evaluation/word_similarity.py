"""Word similarity: Spearman correlation between human scores and cosine similarity of word vectors,
with coverage and a bootstrap interval over pairs. All models are scored on the same pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

from byteword.evaluation.bootstrap import resample_indices


def unit_vectors(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` scaled to unit length, in its own dtype; all-zero rows stay zero."""
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of (n, d) arrays."""
    return (unit_vectors(a) * unit_vectors(b)).sum(1)


def shared_pairs(pairs: pd.DataFrame, vocabularies: list[set[str]]) -> pd.DataFrame:
    """The pairs whose two words every model has a vector for."""
    common = set.intersection(*vocabularies) if vocabularies else set()
    return pairs[pairs.word1.isin(common) & pairs.word2.isin(common)].reset_index(drop=True)


def rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(R, n), (R, n) -> (R,) Pearson correlation of each row pair; NaN where a row is constant."""
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


def spearman_with_ci(human: np.ndarray, predicted: np.ndarray, n_resamples: int = 1000, level: float = 0.95,
                     seed: int = 0) -> tuple[float, float, float]:
    """Spearman rho and a percentile bootstrap interval over pairs. Each resample's rho is computed at once
    for all resamples: the Pearson correlation of its average ranks, as ``spearmanr`` does."""
    rho = float(spearmanr(human, predicted).statistic)
    idx = resample_indices(len(human), n_resamples, seed)  # (R, n)
    boots = rowwise_pearson(rankdata(human[idx], axis=1), rankdata(predicted[idx], axis=1))  # (R,)
    alpha = (1 - level) / 2
    return rho, float(np.nanquantile(boots, alpha)), float(np.nanquantile(boots, 1 - alpha))


def word_similarity(pairs: pd.DataFrame, vectors: dict[str, np.ndarray], n_total: int,
                    n_resamples: int = 1000) -> dict:
    """Score one model on ``pairs`` (already restricted to shared pairs); coverage relative to ``n_total``."""
    a = np.stack([vectors[w] for w in pairs.word1])
    b = np.stack([vectors[w] for w in pairs.word2])
    rho, low, high = spearman_with_ci(pairs.score.to_numpy(), cosine(a, b), n_resamples)
    return {"value": rho, "ci_low": low, "ci_high": high, "n_pairs": len(pairs), "coverage": len(pairs) / n_total}
