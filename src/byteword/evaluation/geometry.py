"""Geometry of an embedding space: anisotropy (how much all vectors point one way), intrinsic
dimension (TwoNN, Facco et al. 2017), and robustness of word vectors to typos (cosine to the
clean word against a random-pair baseline, and the rank of the clean word among all words)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from byteword.evaluation.bootstrap import mean_ci, resample_counts, resample_indices
from byteword.evaluation.word_similarity import unit_vectors


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in float64; all-zero rows stay zero."""
    return unit_vectors(np.asarray(X, dtype=np.float64))


def anisotropy(X: np.ndarray, n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """Mean cosine over pairs of distinct words, with an interval by resampling words:
    {"value", "ci_low", "ci_high", "n"}.

    Exact without the (n, n) Gram matrix: with unit rows u_i, the Gram sum is |Σ u_i|², and the
    diagonal holds |u_i|². In a resample with counts w_i the statistic is the mean over pairs of
    different words, (|Σ w_i u_i|² - Σ w_i² |u_i|²) / (n² - Σ w_i²)."""
    U = unit_rows(X)                                                                       # (n, d)
    n = len(U)
    if n < 2:
        return {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": n}
    sq = (U ** 2).sum(1)                                                                   # (n,) 1, or 0
    value = (np.square(U.sum(0)).sum() - sq.sum()) / (n * (n - 1))
    W = resample_counts(n, n_resamples, seed).astype(np.float64)                           # (R, n)
    W2 = W ** 2
    den = n * n - W2.sum(1)                                                                # (R,)
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = (np.square(W @ U).sum(1) - W2 @ sq) / den
    alpha = (1 - level) / 2
    return {"value": float(value), "ci_low": float(np.nanquantile(boots, alpha)),
            "ci_high": float(np.nanquantile(boots, 1 - alpha)), "n": n}


def twonn_ratios(X: np.ndarray) -> np.ndarray:
    """(m,) μ = r2 / r1 per point, from the distances to its first and second nearest neighbours.

    Duplicate points are merged first (TwoNN needs r1 > 0); m is the number of distinct points."""
    from sklearn.neighbors import NearestNeighbors

    X = np.unique(np.asarray(X, dtype=np.float64), axis=0)                                 # (m, d)
    if len(X) < 3:
        return np.empty(0)
    dist, _ = NearestNeighbors(n_neighbors=3).fit(X).kneighbors(X)                         # (m, 3), col 0 = self
    r1, r2 = dist[:, 1], dist[:, 2]
    keep = r1 > 0
    return r2[keep] / r1[keep]


def intrinsic_dimension(X: np.ndarray, method: str = "mle") -> float:
    """TwoNN intrinsic dimension (Facco et al. 2017) of the rows of ``X`` (n, d).

    μ = r2/r1 follows a Pareto law with P(μ > m) = m^-d. ``method="mle"`` (default) is the maximum
    likelihood estimate d = N / Σ log μ; ``method="fit"`` is the paper's estimator: a least-squares line
    through the origin of -log(1 - F(μ)) against log μ, discarding the 10% largest μ."""
    mu = twonn_ratios(X)
    if len(mu) == 0:
        return float("nan")
    log_mu = np.log(mu)
    if method == "mle":
        return float(len(mu) / log_mu.sum())
    if method == "fit":
        log_mu = np.sort(log_mu)
        n = len(log_mu)
        keep = int(np.floor(0.9 * n))
        x = log_mu[:keep]
        y = -np.log(1 - np.arange(1, keep + 1) / n)                                        # empirical F(μ_(i)) = i/N
        return float((x @ y) / (x @ x))
    raise ValueError(f"unknown TwoNN method {method!r}; use 'mle' or 'fit'")


def intrinsic_dimension_ci(X: np.ndarray, n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """TwoNN MLE with a bootstrap interval over points (their ratios μ are resampled, neighbours are
    not recomputed, which would create duplicates): {"value", "ci_low", "ci_high", "n"}."""
    log_mu = np.log(twonn_ratios(X))
    n = len(log_mu)
    if n == 0:
        return {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 0}
    boots = n / log_mu[resample_indices(n, n_resamples, seed)].sum(1)                     # (R,)
    alpha = (1 - level) / 2
    return {"value": float(n / log_mu.sum()), "ci_low": float(np.quantile(boots, alpha)),
            "ci_high": float(np.quantile(boots, 1 - alpha)), "n": n}


def typo_scores(clean: dict[str, np.ndarray], noised: pd.DataFrame, seed: int = 0, chunk: int = 512) -> pd.DataFrame:
    """Per noised variant whose clean word has a vector: the rows of ``noised`` (word, variant, and any
    other columns, without vector) plus

    - ``cosine``: cos(clean vector of word, vector of variant);
    - ``random_cosine``: cos(clean vector of a different, seeded-random word, vector of variant);
    - ``rank``: 1 + how many clean words are strictly closer (by cosine) to the variant than its own word.
    """
    vocab = list(clean)
    index = {w: i for i, w in enumerate(vocab)}
    rows = noised[noised.word.isin(index)].reset_index(drop=True)
    out = rows.drop(columns="vector")
    C = unit_rows(np.stack([np.asarray(clean[w]) for w in vocab])) if vocab else np.empty((0, 0))  # (V, d)
    if rows.empty:
        return out.assign(cosine=np.empty(0), random_cosine=np.empty(0), rank=np.empty(0, dtype=np.int64))
    N = unit_rows(np.stack([np.asarray(v) for v in rows.vector]))                          # (m, d)
    own = rows.word.map(index).to_numpy()                                                  # (m,)
    V = len(vocab)
    if V > 1:    # a uniformly random other word: shift by 1..V-1 positions
        other = (own + np.random.default_rng(seed).integers(1, V, size=len(own))) % V
        random_cosine = (N * C[other]).sum(1)
    else:
        random_cosine = np.full(len(own), np.nan)
    cosine = (N * C[own]).sum(1)
    rank = np.empty(len(own), dtype=np.int64)
    for start in range(0, len(own), chunk):
        sims = N[start:start + chunk] @ C.T                                                # (chunk, V)
        rank[start:start + chunk] = 1 + (sims > cosine[start:start + chunk, None] + 1e-9).sum(1)
    return out.assign(cosine=cosine, random_cosine=random_cosine, rank=rank)


def typo_robustness(clean: dict[str, np.ndarray], noised: pd.DataFrame, n_resamples: int = 1000,
                    seed: int = 0) -> dict:
    """Aggregate of :func:`typo_scores` with intervals over variants:

    cosine, cosine_ci_low, cosine_ci_high; random_cosine, random_cosine_ci_low, random_cosine_ci_high;
    mean_rank, mean_rank_ci_low, mean_rank_ci_high; top1 (share of variants whose nearest clean word is
    their own), top1_ci_low, top1_ci_high; n_variants (scored), coverage (scored / all rows), n_words."""
    scores = typo_scores(clean, noised, seed=seed)
    result = {}
    for key, values in (("cosine", scores.cosine), ("random_cosine", scores.random_cosine),
                        ("mean_rank", scores["rank"]), ("top1", scores["rank"] == 1)):
        stats = mean_ci(np.asarray(values, dtype=float), n_resamples=n_resamples, seed=seed)
        result |= {key: stats["value"], f"{key}_ci_low": stats["ci_low"], f"{key}_ci_high": stats["ci_high"]}
    return result | {"n_variants": len(scores), "coverage": len(scores) / len(noised) if len(noised) else float("nan"),
                     "n_words": len(clean)}
