"""Under-trained tokens of a BPE model ("Fishing for Magikarp", Land & Bartolo 2024): tokens the
tokenizer has but the training text (almost) never produces keep weights the optimiser barely
moved. Two indicators read from the trained weights alone, each scored by ROC-AUC against the
known training counts (positives: tokens seen at most ``threshold`` times in the training windows the model read):

- ``input_norm_low``: minus the input-embedding norm (weight decay shrinks rows no gradient feeds);
- ``output_norm``: the output-embedding norm (the softmax pushes every unseen token's logit down
  along a shared direction, which grows those rows).

AUC 1 means the indicator ranks every under-trained token above every trained one; 0.5 is chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from byteword.evaluation.bootstrap import resample_indices

THRESHOLDS = (0, 5, 20)


def roc_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    ranks = rankdata(score)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def indicators(input_embeddings: np.ndarray, output_embeddings: np.ndarray) -> dict[str, np.ndarray]:
    """Per-token scores, higher = more likely under-trained; inputs are (vocab, d) weight matrices."""
    return {"input_norm_low": -np.linalg.norm(input_embeddings, axis=1),
            "output_norm": np.linalg.norm(output_embeddings, axis=1)}


def score_indicators(scores: dict[str, np.ndarray], counts: np.ndarray, n_resamples: int = 1000,
                     seed: int = 0) -> pd.DataFrame:
    """One row per indicator and count threshold: ROC-AUC with a bootstrap interval over tokens."""
    idx = resample_indices(len(counts), n_resamples, seed)
    rows = []
    for threshold in THRESHOLDS:
        positive = counts <= threshold
        if positive.all() or not positive.any():
            continue  # AUC needs both classes
        for name, score in scores.items():
            samples = [roc_auc(score[i], positive[i]) for i in idx if 0 < positive[i].sum() < len(i)]
            rows.append({"indicator": name, "threshold": threshold, "metric": "roc_auc", "value": roc_auc(score, positive),
                         "ci_low": float(np.quantile(samples, 0.025)), "ci_high": float(np.quantile(samples, 0.975)),
                         "n_positive": int(positive.sum()), "n_tokens": len(counts)})
    return pd.DataFrame(rows)
