"""The embedding evaluations over every model at once: each takes the per-model vector tables written by
``extract_embeddings`` (static words, contextual words, sentences) and returns one tidy table, one row
per model (and level, letter or baseline) with the identifying columns and a bootstrap interval.

Every model embeds the same lexicon and the same held-out text, so every model is scored on the same
pairs, questions, words and sentences."""

from __future__ import annotations

import numpy as np
import pandas as pd

from byteword.embeddings import LETTERS_ONLY, load_word_pairs, vectors_from_table, whiten
from byteword.evaluation.analogy import analogy_accuracy, load_analogies
from byteword.evaluation.geometry import anisotropy, intrinsic_dimension_ci, typo_robustness
from byteword.evaluation.probes import bag_of_bytes, character_probe, load_polarity, random_control, sentence_probe
from byteword.evaluation.word_similarity import shared_pairs, word_similarity

IDENTITY = ["experiment", "corpus", "tokenizer", "model", "seed", "config_hash", "code_version"]


def identity(table: pd.DataFrame) -> dict:
    """The identifying columns of a per-model table (the same on every row)."""
    return table.iloc[0][IDENTITY].to_dict()


def clean_vectors(static: pd.DataFrame) -> dict[str, np.ndarray]:
    return vectors_from_table(static[static["kind"] == "clean"])


def similarity_table(static: list[pd.DataFrame], contextual: list[pd.DataFrame], datasets: list[str],
                     n_resamples: int) -> pd.DataFrame:
    """Spearman per model, dataset and level (static, contextual), each level on the pairs all models cover."""
    rows = []
    for level, tables in (("static", static), ("contextual", contextual)):
        vectors = [clean_vectors(t) if level == "static" else vectors_from_table(t) for t in tables]
        for dataset in datasets:
            pairs = load_word_pairs(dataset)
            shared = shared_pairs(pairs, [set(v) for v in vectors])
            for model_static, vecs in zip(static, vectors):  # identity from the static table: never empty
                if len(shared) > 2:
                    score = word_similarity(shared, vecs, n_total=len(pairs), n_resamples=n_resamples)
                else:  # too few pairs in the held-out text for a correlation
                    score = {"value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n_pairs": len(shared),
                             "coverage": len(shared) / len(pairs)}
                rows.append({**identity(model_static), "dataset": dataset, "level": level, "metric": "spearman",
                             **score})
    return pd.DataFrame(rows)


def analogy_table(static: list[pd.DataFrame], n_resamples: int) -> pd.DataFrame:
    """3CosAdd accuracy per model over every question whose four words have vectors (the same for all): all
    questions, the semantic sections (capitals, currencies, family...) and the syntactic ones (gram*: plurals,
    tenses, comparatives), which a model can solve from spelling alone."""
    questions = load_analogies()
    syntactic = questions["section"].str.startswith("gram")
    groups = {"all": questions, "semantic": questions[~syntactic], "syntactic": questions[syntactic]}
    return pd.DataFrame([{**identity(t), "group": group, "metric": "3cosadd_accuracy",
                          **analogy_accuracy(q, clean_vectors(t), n_resamples=n_resamples)}
                         for t in static for group, q in groups.items()])


def character_probe_table(static: list[pd.DataFrame], n_resamples: int, seed: int) -> pd.DataFrame:
    """Per model: letter probes on its static vectors and on random vectors of the same size (the control),
    over the clean letter-only words, split by lemma."""
    rows = []
    for t in static:
        words = t[(t["kind"] == "clean") & t["word"].str.fullmatch(LETTERS_ONLY.pattern)]
        X = np.stack(words["vector"].to_numpy())
        for vectors, matrix in (("model", X), ("random control", random_control(list(words["word"]), X.shape[1], seed))):
            probe = character_probe(list(words["word"]), matrix, seed=seed, n_resamples=n_resamples)
            rows.append(probe.assign(**identity(t), vectors=vectors))
    return pd.concat(rows, ignore_index=True)


def typo_table(static: list[pd.DataFrame], n_resamples: int, seed: int) -> pd.DataFrame:
    """Cosine of each noised variant to its clean word beside a random pair, and the clean word's rank.
    Vectors are first centred on the clean words' mean: most models put every word in a narrow cone
    (cosines near 1 for any pair), which would hide the difference from the random baseline."""
    rows = []
    for t in static:
        mean = np.stack(t.loc[t["kind"] == "clean", "vector"].to_numpy()).mean(0)
        t = t.assign(vector=[v - mean for v in t["vector"]])
        noised = t[t["kind"] == "noised"].rename(columns={"word": "variant", "source": "word"})
        rows.append({**identity(t), **typo_robustness(clean_vectors(t), noised, n_resamples=n_resamples, seed=seed)})
    return pd.DataFrame(rows)


def geometry_table(static: list[pd.DataFrame], contextual: list[pd.DataFrame], sentences: list[pd.DataFrame],
                   n_resamples: int) -> pd.DataFrame:
    """Anisotropy (mean pairwise cosine) and TwoNN intrinsic dimension per model and level."""
    rows = []
    for s, c, t in zip(static, contextual, sentences):
        for level, table in (("static", s[s["kind"] == "clean"]), ("contextual", c), ("sentence", t)):
            if len(table) < 3:
                continue
            X = np.stack(table["vector"].to_numpy()).astype(np.float64)
            for metric, stats in (("anisotropy", anisotropy(X, n_resamples=n_resamples)),
                                  ("intrinsic_dimension", intrinsic_dimension_ci(X, n_resamples=n_resamples))):
                rows.append({**identity(s), "level": level, "metric": metric, "dim": X.shape[1], **stats})
    return pd.DataFrame(rows)


def sentence_probe_table(sentences: list[pd.DataFrame], whitened: bool, n_resamples: int, seed: int) -> pd.DataFrame:
    """Cross-validated polarity accuracy from each model's frozen sentence vectors, and from bag-of-bytes
    frequencies (the baseline a model has to beat), on the same sentences and folds."""
    polarity = load_polarity()
    rows = []
    for t in sentences:
        X = np.stack(t["vector"].to_numpy())
        X = whiten(X) if whitened else X
        rows.append({**identity(t), "features": "whitened" if whitened else "mean",
                     **sentence_probe(X, t["label"].to_numpy(), seed=seed, n_resamples=n_resamples)})
    base = {**identity(sentences[0]), "model": "bag_of_bytes", "tokenizer": "bytes", "features": "byte frequencies"}
    rows.append({**base, **sentence_probe(bag_of_bytes(list(polarity["text"])), polarity["label"].to_numpy(),
                                          seed=seed, n_resamples=n_resamples)})
    return pd.DataFrame(rows)
