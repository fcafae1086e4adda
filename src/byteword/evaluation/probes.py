"""Linear probes on frozen embeddings.

- Character probes ("What do tokens know about their characters", Kaushal & Mahowald 2022): per
  letter, a logistic regression predicting from a word's vector whether the word contains that
  letter. Words are split by lemma (``simplemma``, offline), so "walk"/"walked" never straddle
  train and test. Macro-F1 over letters, with a random-vector control run through the same probe.
- Sentence probe: logistic regression, cross-validated, on the polarity sentences from frozen
  sentence vectors, beside a bag-of-bytes baseline."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from byteword.evaluation.bootstrap import mean_ci, resample_counts

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def lemma_groups(words: list[str], lang: str = "en") -> list[str]:
    """The lowercased ``simplemma`` lemma of each word (leading/trailing space ignored)."""
    import simplemma

    return [simplemma.lemmatize(w.strip(), lang=lang).lower() for w in words]


def split_by_group(groups: list[str], test_fraction: float = 0.3, seed: int = 0) -> np.ndarray:
    """(n,) bool is_test: a seeded ``test_fraction`` of the distinct groups (at least one, and at least one
    left for training when there are two or more) goes to test, each group wholly on one side."""
    groups = np.asarray(groups, dtype=object)
    unique = np.array(sorted(set(groups.tolist())), dtype=object)
    n_test = int(round(test_fraction * len(unique)))
    n_test = min(max(n_test, 1), max(len(unique) - 1, 1)) if len(unique) else 0
    test_groups = unique[np.random.default_rng(seed).permutation(len(unique))[:n_test]]
    return np.isin(groups, test_groups)


def random_control(words: list[str], dim: int, seed: int = 0) -> np.ndarray:
    """(n, dim) float32 standard Gaussian vectors, one per word: the control that knows no spelling."""
    return np.random.default_rng(seed).standard_normal((len(words), dim)).astype(np.float32)


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2 * tp / (2 * tp + fp + fn)                                   # nan where no positives at all


def character_probe(words: list[str], X: np.ndarray, letters: str = LETTERS, seed: int = 0, n_resamples: int = 1000,
                    lang: str = "en", test_fraction: float = 0.3, C: float = 1.0, max_iter: int = 200,
                    level: float = 0.95) -> pd.DataFrame:
    """Per-letter linear probes on word vectors ``X`` (n, d), trained on train lemmas, scored on test lemmas.

    Target: the letter occurs in ``word.casefold()``. Letters whose train or test side lacks a class are
    skipped. Rows: letter, metric ("f1"), value, ci_low, ci_high, n_train, n_test, test_positive_rate; then
    a final row with letter "macro" holding the macro-F1 over the probed letters. Intervals resample test words (the
    stored test predictions are rescored, nothing is refit); the macro interval averages the letters'
    F1 within each resample."""
    X = np.asarray(X, dtype=np.float64)
    is_test = split_by_group(lemma_groups(words, lang), test_fraction, seed)
    folded = [w.casefold() for w in words]
    scaler = StandardScaler().fit(X[~is_test])
    X_train, X_test = scaler.transform(X[~is_test]), scaler.transform(X[is_test])        # (n_tr, d), (n_te, d)
    probed, truth, predicted = [], [], []
    for letter in letters:
        y = np.array([letter in w for w in folded])
        y_train, y_test = y[~is_test], y[is_test]
        if len(np.unique(y_train)) < 2 or len(np.unique(y_test)) < 2:
            continue
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=max_iter)
        # Small problems: BLAS threads cost more than they save (10x slower on 2 busy cores).
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, y_train)
        probed.append(letter)
        truth.append(y_test)
        predicted.append(clf.predict(X_test))
    columns = ["letter", "value", "ci_low", "ci_high", "n_train", "n_test", "test_positive_rate"]
    n_train, n_test = int((~is_test).sum()), int(is_test.sum())
    if not probed:
        return pd.DataFrame([["macro", np.nan, np.nan, np.nan, n_train, n_test, np.nan]],
                            columns=columns).assign(metric="f1")[["letter", "metric", *columns[1:]]]
    T = np.stack(truth, 1).astype(np.float64)                                             # (n_te, L)
    P = np.stack(predicted, 1).astype(np.float64)
    f1 = _f1((T * P).sum(0), ((1 - T) * P).sum(0), (T * (1 - P)).sum(0))                 # (L,)
    W = resample_counts(n_test, n_resamples, seed).astype(np.float64)                    # (R, n_te)
    boots = _f1(W @ (T * P), W @ ((1 - T) * P), W @ (T * (1 - P)))                        # (R, L)
    alpha = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)                                   # all-nan columns
        low, high = np.nanquantile(boots, alpha, axis=0), np.nanquantile(boots, 1 - alpha, axis=0)
        macro_boots = np.nanmean(boots, axis=1)                                           # (R,)
    rows = [[letter, f1[i], low[i], high[i], n_train, n_test, T[:, i].mean()] for i, letter in enumerate(probed)]
    rows.append(["macro", float(f1.mean()), float(np.nanquantile(macro_boots, alpha)),
                 float(np.nanquantile(macro_boots, 1 - alpha)), n_train, n_test, float(T.mean())])
    return pd.DataFrame(rows, columns=columns).assign(metric="f1")[["letter", "metric", *columns[1:]]]


def bag_of_bytes(texts: list[str]) -> np.ndarray:
    """(n, 256) float32 UTF-8 byte frequencies per text; each row sums to 1 (an empty text is all zeros)."""
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for i, text in enumerate(texts):
        counts = np.bincount(np.frombuffer(text.encode("utf-8"), dtype=np.uint8), minlength=256)
        out[i] = counts / max(counts.sum(), 1)
    return out


def sentence_probe(X: np.ndarray, labels, folds: int = 5, seed: int = 0, n_resamples: int = 1000,
                   C: float = 1.0) -> dict:
    """Cross-validated accuracy of a standardized logistic regression on sentence vectors ``X`` (n, d):
    {"value", "ci_low", "ci_high", "n"}, the interval resampling sentences. Stratified, shuffled
    ``folds``-fold (fewer if a class has fewer members); each sentence is predicted by the fold that
    did not train on it."""
    labels = np.asarray(labels)
    folds = int(min(folds, np.bincount(pd.factorize(labels)[0]).min()))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with threadpool_limits(1):
        predicted = cross_val_predict(model, np.asarray(X, dtype=np.float64), labels, cv=cv)
    return mean_ci((predicted == labels).astype(float), n_resamples=n_resamples, seed=seed)
