"""Known answers for the reference rows (bag of bytes and bigrams, random, fastText, word2vec) and for the
embedding tables that score them beside both readings of a model."""

import numpy as np
import pandas as pd
import pytest

from byteword.datasets import pair_words
from byteword.evaluation.vectors import readings_table
from byteword.evaluation.embedding_suite import analogy_table, similarity_table, typo_table
from byteword.evaluation.reference_vectors import (ReferenceConfig, bag_of_bigrams, bag_of_bytes, lookup,
                                                   random_vectors, reference_table, reference_vectors,
                                                   train_word_vectors, training_sentences)
from byteword.provenance import with_provenance

TRAIN = ["The cat sat on the mat.\nThe dog sat on the log, and the cat ran.", "A cat and a dog met a Cat."] * 20
SMALL = ReferenceConfig(vector_size=16, epochs=3, fasttext_buckets=2000, seed=3)


def test_bag_of_bytes_counts_the_bytes_of_space_word_and_anagrams_are_equal():
    X = bag_of_bytes(["listen", "silent", "naïve"])
    assert np.array_equal(X[0], X[1]) and X.shape == (3, 256)
    assert X[0, ord(" ")] == 1 and X[0, ord("l")] == 1 and X[0].sum() == 7  # " listen"
    assert X[2, 0xC3] == 1 and X[2, 0xAF] == 1 and X[2].sum() == 7  # ï is two bytes


def test_bag_of_bigrams_is_exact_and_tells_anagrams_apart():
    X = bag_of_bigrams(["ab", "ba", "aba"])  # bigrams " a", "ab", " b", "ba": 4 columns in byte order
    assert X.shape == (3, 4)
    assert X.tolist() == [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 1]]  # columns " a", " b", "ab", "ba"
    listen, silent = bag_of_bigrams(["listen", "silent"])
    assert not np.array_equal(listen, silent) and listen.sum() == silent.sum() == 6


def test_random_vectors_depend_on_the_word_and_seed_only():
    a = random_vectors(["cat", "dog"], 8, seed=1)
    b = random_vectors(["emu", "dog", "cat"], 8, seed=1)
    assert np.array_equal(a[0], b[2]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], random_vectors(["cat"], 8, seed=2)[0])
    assert not np.array_equal(a[0], a[1])


def test_training_sentences_are_lines_of_split_words_without_their_space():
    sentences = training_sentences(["The cat,  sat.\n\nA Dog"])
    assert sentences == [["The", "cat", ",", "sat", "."], ["A", "Dog"]]  # case kept, no empty words


@pytest.mark.parametrize("name", ["word2vec", "fasttext"])
def test_learned_references_are_deterministic_with_one_worker_and_a_seed(name):
    words = ["cat", "dog", "Cat", "zebra"]
    first, known = reference_vectors(name, words, TRAIN, SMALL)
    second, _ = reference_vectors(name, words, TRAIN, SMALL)
    assert np.array_equal(first, second)  # bit for bit
    assert known.tolist() == [True, True, True, False] and first.shape == (4, 16)
    other, _ = reference_vectors(name, words, TRAIN, ReferenceConfig(**{**SMALL.__dict__, "seed": 4}))
    assert not np.array_equal(first, other)


def test_word2vec_gives_unseen_words_zeros_and_fasttext_builds_them_from_subwords():
    sentences = training_sentences(TRAIN)
    w2v, _ = lookup(train_word_vectors("word2vec", sentences, SMALL), ["cat", "cats"])
    ft, known = lookup(train_word_vectors("fasttext", sentences, SMALL), ["cat", "cats"])
    assert np.abs(w2v[0]).sum() > 0 and not w2v[1].any()
    assert not known[1] and np.abs(ft[1]).sum() > 0


def model_and_reference_tables():
    """A fake model (random readings of both widths) and a bag-of-bytes and a half-known reference row over
    every WordSim-353 word plus one noised variant per word."""
    words = pair_words(["wordsim353"])
    lexicon = pd.DataFrame({"word": words + [w[::-1] + "x" for w in words], "kind": ["clean"] * len(words) +
                            ["noised"] * len(words), "source": words + words})
    rng = np.random.default_rng(0)
    ident = dict(experiment="t", corpus="c", tokenizer="bytes", model="m", seed=0, cfg_hash="h")
    model = with_provenance(readings_table(lexicon, {"input": rng.normal(size=(len(lexicon), 8)),
                                                     "output": rng.normal(size=(len(lexicon), 12))}), **ident)
    refs = []
    for name, known in (("bag_of_bytes", np.ones(len(lexicon), bool)), ("half", np.arange(len(lexicon)) % 2 == 0)):
        X = bag_of_bytes(list(lexicon["word"])) * known[:, None]
        refs.append(with_provenance(reference_table(lexicon, X, known), **{**ident, "model": name}))
    return model, refs


def test_embedding_tables_score_both_readings_and_the_reference_rows_on_the_same_pairs():
    model, refs = model_and_reference_tables()
    contextual = pd.DataFrame({"word": [], "occurrences": [], "vector": []})
    sim = similarity_table([model], [contextual], ["wordsim353"], n_resamples=20, reference=refs)
    static = sim[sim["level"] == "static"].set_index(["model", "reading"])
    assert list(static.index) == [("m", "input"), ("m", "output"), ("bag_of_bytes", "reference"),
                                  ("half", "reference")]
    assert (static["n_pairs"] == 353).all() and static.loc[("m", "input"), "known_share"] == 1
    assert 0.1 < static.loc[("half", "reference"), "known_share"] < 0.5  # both words of a pair known
    assert sim.loc[sim["level"] == "contextual", "reading"].tolist() == ["main"]
    typo = typo_table([model], n_resamples=20, seed=0, reference=refs)
    metrics = typo.groupby(["model", "reading"])["metric"].apply(tuple)  # long: a row per metric
    assert set(metrics) == {("cosine", "random_cosine", "mean_rank", "top1")}
    typo = typo[typo["metric"] == "cosine"].set_index(["model", "reading"])
    n_noised = int((model["kind"] == "noised").sum()) // 2  # the table holds every word twice, once per reading
    assert (typo["n_variants"] == n_noised).all() and typo.loc[("half", "reference"), "known_share"] < 0.6


def test_analogy_table_has_a_row_per_reading_and_reference():
    model, refs = model_and_reference_tables()
    table = analogy_table([model], n_resamples=20, reference=refs)
    assert table.groupby(["model", "reading"]).size().to_dict() == {("bag_of_bytes", "reference"): 3,
                                                                    ("half", "reference"): 3, ("m", "input"): 3,
                                                                    ("m", "output"): 3}
    assert table["n_questions"].nunique() <= 3  # one count per group, the same for every row
