"""The embedding evaluations over every model and reference row at once: each takes the per-model vector
tables written by ``extract_embeddings`` (static words, contextual words, sentences) and the reference
tables written by ``reference_vectors``, and returns one tidy table, one row per model and reading (and
level, letter or baseline) with the identifying columns and a bootstrap interval.

Readings (the ``reading`` column): a model's static vectors come twice, ``input`` (what its upper level
receives for the word) and ``output`` (its top level once it has read the word), each scored as its own
row; reference rows (bag of bytes and bigrams, random, fastText, word2vec) are ``reference``; contextual
and sentence vectors, the states of a model's main level, are ``main``. ``known_share`` says how much of
what a row was scored on was seen in training by a row that needs it: 1 for models and the rows that
learn nothing, below 1 for fastText (which builds the other words from character n-grams) and word2vec
(whose other words are zero vectors).

Every model and reference row embeds the same lexicon and every model the same held-out text, so all are
scored on the same pairs, questions, words and sentences."""

from __future__ import annotations

import numpy as np
import pandas as pd

from byteword.datasets import ANALOGY_COLUMNS, load_analogies, load_polarity, load_word_pairs
from byteword.evaluation.analogy import accuracy_summary, analogy_correct
from byteword.evaluation.geometry import anisotropy, intrinsic_dimension_ci, typo_robustness
from byteword.evaluation.probes import bag_of_bytes, character_probe, random_control, sentence_probe
from byteword.evaluation.vectors import LETTERS_ONLY, vectors_from_table, whiten
from byteword.evaluation.word_similarity import shared_pairs, word_similarity

IDENTITY = ["experiment", "corpus", "tokenizer", "model", "seed", "config_hash", "code_version"]
MAIN = "main"  # the reading of contextual and sentence vectors: the states of the model's main level
REFERENCE = "reference"


def identity(table: pd.DataFrame, reading: str | None = None) -> dict:
    """The identifying columns of a per-model table (the same on every row) and its reading (``reading``
    when given, else the table's own, else ``main``)."""
    row = table.iloc[0]
    return {**row[IDENTITY].to_dict(), "reading": reading or row.get("reading", MAIN)}


def scored_rows(static: list[pd.DataFrame], reference: list[pd.DataFrame] = ()) -> list[pd.DataFrame]:
    """One static table per row of an evaluation: each model's table split by reading (in its order),
    then the reference tables."""
    return [g for t in static for _, g in t.groupby("reading", sort=False)] + list(reference)


def clean_vectors(static: pd.DataFrame) -> dict[str, np.ndarray]:
    return vectors_from_table(static[static["kind"] == "clean"])


def known_words(static: pd.DataFrame) -> set[str]:
    """The words with a vector of their own (all of them for models; for fastText and word2vec, the words
    seen in training)."""
    return set(static.loc[static["known"], "word"]) if "known" in static else set(static["word"])


def share(flags) -> float:
    flags = np.asarray(flags, dtype=float)
    return float(flags.mean()) if len(flags) else float("nan")


def similarity_rows(level: str, idents: list[dict], vectors: list[dict], known: list[set], datasets: list[str],
                    n_resamples: int) -> list[dict]:
    """Spearman per row and dataset at one level, every row on the pairs all of the level's rows cover."""
    rows = []
    for dataset in datasets:
        pairs = load_word_pairs(dataset)
        shared = shared_pairs(pairs, [set(v) for v in vectors])
        for ident, vecs, kn in zip(idents, vectors, known):
            if len(shared) > 2:
                score = word_similarity(shared, vecs, n_total=len(pairs), n_resamples=n_resamples)
            else:  # too few pairs in the held-out text for a correlation
                score = {"value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n_pairs": len(shared),
                         "coverage": len(shared) / len(pairs)}
            both_known = [a in kn and b in kn for a, b in zip(shared["word1"], shared["word2"])]
            rows.append({**ident, "dataset": dataset, "level": level, "metric": "spearman", **score,
                         "known_share": share(both_known)})
    return rows


def similarity_table(static: list[pd.DataFrame], contextual: list[pd.DataFrame], datasets: list[str],
                     n_resamples: int, reference: list[pd.DataFrame] = ()) -> pd.DataFrame:
    """Spearman per row, dataset and level: static (both readings of every model and the reference rows)
    and contextual (every model's main level), each level on the pairs all its rows cover."""
    tables = scored_rows(static, reference)
    rows = similarity_rows("static", [identity(t) for t in tables], [clean_vectors(t) for t in tables],
                           [known_words(t) for t in tables], datasets, n_resamples)
    vectors = [vectors_from_table(t) for t in contextual]  # identity from the static table: never empty
    rows += similarity_rows("contextual", [identity(s, MAIN) for s in static], vectors, [set(v) for v in vectors],
                            datasets, n_resamples)
    return pd.DataFrame(rows)


def analogy_table(static: list[pd.DataFrame], n_resamples: int, reference: list[pd.DataFrame] = ()) -> pd.DataFrame:
    """3CosAdd accuracy per row over every question whose four words have vectors (the same for all): all
    questions, the semantic sections (capitals, currencies, family...) and the syntactic ones (gram*: plurals,
    tenses, comparatives), which a model can solve from spelling alone."""
    questions = load_analogies()
    syntactic = questions["section"].str.startswith("gram").to_numpy()
    groups = {"all": np.ones(len(questions), dtype=bool), "semantic": ~syntactic, "syntactic": syntactic}
    rows = []
    for t in scored_rows(static, reference):
        covered, correct = analogy_correct(questions, clean_vectors(t))  # (n,) each, once for all groups
        all_known = questions[ANALOGY_COLUMNS].isin(known_words(t)).all(axis=1).to_numpy()  # (n,)
        for group, mask in groups.items():
            rows.append({**identity(t), "group": group, "metric": "3cosadd_accuracy",
                         **accuracy_summary(covered[mask], correct[mask], n_resamples=n_resamples),
                         "known_share": share(all_known[mask & covered])})
    return pd.DataFrame(rows)


def character_probe_table(static: list[pd.DataFrame], n_resamples: int, seed: int,
                          reference: list[pd.DataFrame] = ()) -> pd.DataFrame:
    """Per row: letter probes on its static vectors over the clean letter-only words, split by lemma; a
    model's readings also get the probe on random vectors of the same size (``vectors`` "random control",
    run once per size: every table holds the same words). Reference rows need no control of their own:
    the ``random`` reference row is one."""
    rows, controls = [], {}
    for t in scored_rows(static, reference):
        words = t[(t["kind"] == "clean") & t["word"].str.fullmatch(LETTERS_ONLY.pattern)]
        word_list, X = list(words["word"]), np.stack(words["vector"].to_numpy())
        probes = [("model", character_probe(word_list, X, seed=seed, n_resamples=n_resamples))]
        if t["reading"].iloc[0] != REFERENCE:
            key = (X.shape[1], tuple(word_list))
            if key not in controls:
                controls[key] = character_probe(word_list, random_control(word_list, X.shape[1], seed), seed=seed,
                                                n_resamples=n_resamples)
            probes.append(("random control", controls[key]))
        known = share(words["known"]) if "known" in words else 1.0
        rows += [probe.assign(**identity(t), vectors=vectors, known_share=known) for vectors, probe in probes]
    return pd.concat(rows, ignore_index=True)


TYPO_METRICS = ("cosine", "random_cosine", "mean_rank", "top1")


def typo_table(static: list[pd.DataFrame], n_resamples: int, seed: int,
               reference: list[pd.DataFrame] = ()) -> pd.DataFrame:
    """Cosine of each noised variant to its clean word beside a random pair, and the clean word's rank,
    one row per metric (``TYPO_METRICS``). Vectors are first centred on the clean words' mean: most models
    put every word in a narrow cone (cosines near 1 for any pair), which would hide the difference from
    the random baseline."""
    rows = []
    for t in scored_rows(static, reference):
        mean = np.stack(t.loc[t["kind"] == "clean", "vector"].to_numpy()).mean(0)
        t = t.assign(vector=[v - mean for v in t["vector"]])
        noised = t[t["kind"] == "noised"].rename(columns={"word": "variant", "source": "word"})
        known = known_words(t)
        scores = typo_robustness(clean_vectors(t), noised, n_resamples=n_resamples, seed=seed)
        counts = {k: scores[k] for k in ("n_variants", "coverage", "n_words")}
        rows += [{**identity(t), "metric": m, "value": scores[m], "ci_low": scores[f"{m}_ci_low"],
                  "ci_high": scores[f"{m}_ci_high"], **counts, "known_share": share(noised["variant"].isin(known))}
                 for m in TYPO_METRICS]
    return pd.DataFrame(rows)


def geometry_rows(ident: dict, level: str, table: pd.DataFrame, n_resamples: int) -> list[dict]:
    """Anisotropy and TwoNN intrinsic dimension of one table's vectors (none below 3 vectors)."""
    if len(table) < 3:
        return []
    X = np.stack(table["vector"].to_numpy()).astype(np.float64)
    return [{**ident, "level": level, "metric": metric, "dim": X.shape[1], **stats}
            for metric, stats in (("anisotropy", anisotropy(X, n_resamples=n_resamples)),
                                  ("intrinsic_dimension", intrinsic_dimension_ci(X, n_resamples=n_resamples)))]


def geometry_table(static: list[pd.DataFrame], contextual: list[pd.DataFrame], sentences: list[pd.DataFrame],
                   n_resamples: int, reference: list[pd.DataFrame] = ()) -> pd.DataFrame:
    """Anisotropy (mean pairwise cosine) and TwoNN intrinsic dimension per row and level: static vectors of
    the clean words at every reading and reference row (only words with a vector of their own: word2vec's
    zeros are no geometry), contextual and sentence vectors of every model's main level."""
    rows = []
    for t in scored_rows(static, reference):
        clean = t[t["kind"] == "clean"]
        rows += geometry_rows(identity(t), "static", clean[clean["word"].isin(known_words(t))], n_resamples)
    for s, c, z in zip(static, contextual, sentences):
        for level, table in (("contextual", c), ("sentence", z)):
            rows += geometry_rows(identity(s, MAIN), level, table, n_resamples)
    return pd.DataFrame(rows)


def sentence_probe_table(sentences: list[pd.DataFrame], whitened: bool, n_resamples: int, seed: int) -> pd.DataFrame:
    """Cross-validated polarity accuracy from each model's frozen sentence vectors, and from bag-of-bytes
    frequencies (the baseline a model has to beat), on the same sentences and folds."""
    polarity = load_polarity()
    rows = []
    for t in sentences:
        X = np.stack(t["vector"].to_numpy())
        X = whiten(X) if whitened else X
        rows.append({**identity(t), "features": "whitened" if whitened else "mean", "metric": "accuracy",
                     **sentence_probe(X, t["label"].to_numpy(), seed=seed, n_resamples=n_resamples)})
    base = {**identity(sentences[0], REFERENCE), "model": "bag_of_bytes", "tokenizer": "bytes",
            "features": "byte frequencies", "metric": "accuracy"}
    rows.append({**base, **sentence_probe(bag_of_bytes(list(polarity["text"])), polarity["label"].to_numpy(),
                                          seed=seed, n_resamples=n_resamples)})
    return pd.DataFrame(rows)
