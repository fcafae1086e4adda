"""Word analogies (Mikolov et al. 2013, ``byteword.datasets.load_analogies``) scored with 3CosAdd:
for "a is to b as c is to ?", predict the word x maximizing cos(x, b) - cos(x, a) + cos(x, c),
i.e. the nearest unit vector to b̂ - â + ĉ, among every word that has a vector except a, b, c.

A question counts only when all four of its words have vectors; coverage says how many did.
Words keep their original case (models embed " Athens", not " athens")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from byteword.datasets import ANALOGY_COLUMNS
from byteword.evaluation.bootstrap import mean_ci
from byteword.evaluation.word_similarity import unit_vectors


def analogy_correct(questions: pd.DataFrame, vectors: dict[str, np.ndarray],
                    chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(covered, correct), two (n_questions,) bool arrays; ``correct`` is False where not covered.

    The candidates are all words of ``vectors``; each question excludes its own a, b and c."""
    vocab = list(vectors)
    index = {w: i for i, w in enumerate(vocab)}
    ids = np.array([[index.get(w, -1) for w in questions[col]] for col in ANALOGY_COLUMNS]).T.reshape(-1, 4)  # (n, 4)
    covered = (ids >= 0).all(1)
    correct = np.zeros(len(questions), dtype=bool)
    if not covered.any():
        return covered, correct
    unit = unit_vectors(np.stack([np.asarray(vectors[w], dtype=np.float32) for w in vocab]))  # (V, d)
    q_ids = ids[covered]                                                                      # (m, 4)
    hits = np.empty(len(q_ids), dtype=bool)
    for start in range(0, len(q_ids), chunk):
        a, b, c, d = q_ids[start:start + chunk].T
        scores = (unit[b] - unit[a] + unit[c]) @ unit.T                                       # (chunk, V)
        rows = np.arange(len(a))
        scores[rows, a] = scores[rows, b] = scores[rows, c] = -np.inf
        hits[start:start + chunk] = scores.argmax(1) == d
    correct[covered] = hits
    return covered, correct


def analogy_accuracy(questions: pd.DataFrame, vectors: dict[str, np.ndarray], n_resamples: int = 1000,
                     seed: int = 0) -> dict:
    """3CosAdd accuracy over the covered questions, with a bootstrap interval over questions:
    {"value", "ci_low", "ci_high", "n_questions", "coverage"} (coverage = covered / all questions)."""
    return accuracy_summary(*analogy_correct(questions, vectors), n_resamples=n_resamples, seed=seed)


def accuracy_summary(covered: np.ndarray, correct: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> dict:
    """``analogy_accuracy`` from the (n,) bool arrays of ``analogy_correct``, or of a subset of its questions."""
    stats = mean_ci(correct[covered].astype(float), n_resamples=n_resamples, seed=seed)
    return {"value": stats["value"], "ci_low": stats["ci_low"], "ci_high": stats["ci_high"],
            "n_questions": int(covered.sum()), "coverage": float(covered.mean()) if len(covered) else float("nan")}


def analogy_by_section(questions: pd.DataFrame, vectors: dict[str, np.ndarray], n_resamples: int = 1000,
                       seed: int = 0) -> pd.DataFrame:
    """One row per section (in file order): section, value, ci_low, ci_high, n_questions, coverage."""
    covered, correct = analogy_correct(questions, vectors)
    rows = []
    for section in questions.section.unique():
        mask = (questions.section == section).to_numpy()
        stats = mean_ci(correct[mask & covered].astype(float), n_resamples=n_resamples, seed=seed)
        rows.append({"section": section, "value": stats["value"], "ci_low": stats["ci_low"],
                     "ci_high": stats["ci_high"], "n_questions": int((mask & covered).sum()),
                     "coverage": float(covered[mask].mean())})
    return pd.DataFrame(rows)
