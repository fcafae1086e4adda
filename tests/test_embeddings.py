"""Embedding extraction: the lexicon, and contextual/sentence vectors that read exactly the span asked for."""

import numpy as np
import pandas as pd
import pytest
import torch

from byteword.api import LoadedModel
from byteword.datasets import pair_words
from byteword.embeddings import build_lexicon, contextual_word_vectors, sentence_vectors, span_vectors
from byteword.evaluation.vectors import whiten
from byteword.evaluation.word_similarity import shared_pairs, word_similarity
from byteword.models.transformer import BYTE_BOS

TRAIN = ["the cat sat on the mat and the dog sat on the log " * 3 + "rare words appear once"]
TEST = ["the cat and the zebra met a dog near the old mill while the cat slept"]
FAMILIES = ["bytes", "bpe", "hat", "spacebyte", "megabyte", "hnet"]


def loaded(make_model, tokenizer, kind):
    model = make_model(kind)
    with torch.no_grad():  # zero-initialised projections would make some states ignore their input
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return LoadedModel(model, tokenizer if kind == "bpe" else None, 48)


def test_lexicon_holds_the_evaluation_sets_buckets_and_one_edit_variants():
    table = build_lexicon(TRAIN, TEST, ["wordsim353"], words_per_bucket=3, noised_words=10, variants_per_word=2)
    clean, noised = table[table.kind == "clean"], table[table.kind == "noised"]
    assert set(pair_words(["wordsim353"])) <= set(clean.word) and {"Athens", "Greece"} <= set(clean.word)
    assert clean.word.is_unique and not set(noised.word) & set(clean.word)
    assert {"zebra", "slept"} & set(clean.word) and table.set_index("word").loc["the", "bucket"] == "11-100"
    assert len(noised) > 10 and (noised.source.isin(clean.word)).all()
    for v, w in zip(noised.word, noised.source):  # one swap, substitution or deletion
        assert len(w) - 1 <= len(v) <= len(w) and v != w
    again = build_lexicon(TRAIN, TEST, ["wordsim353"], words_per_bucket=3, noised_words=10, variants_per_word=2)
    assert again.equals(table)


def test_byte_span_vectors_are_the_states_after_reading_the_span(make_model, tokenizer):
    lm = loaded(make_model, tokenizer, "bytes")
    window = b"the cat sat on the mat "
    got = span_vectors(lm, [window], [(7, 11)])[0]  # " sat"
    x = torch.tensor([[BYTE_BOS, *window]])
    with torch.no_grad():
        want = lm.model.eval().hidden_states(x)[0, 8:12].mean(0).numpy()  # states after bytes 7..10
    assert np.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("kind", FAMILIES)
def test_span_vectors_read_the_word_and_nothing_after_its_next_byte(make_model, tokenizer, kind):
    lm = loaded(make_model, tokenizer, kind)
    lm.model.eval()
    base = span_vectors(lm, [b"the dog saw a cat "], [(13, 17)])[0]
    longer = span_vectors(lm, [b"the dog saw a cat and more text"], [(13, 17)])[0]
    changed = span_vectors(lm, [b"the dog saw a cap "], [(13, 17)])[0]
    assert np.isfinite(base).all()
    assert np.allclose(base, longer, atol=1e-5)  # causal: later bytes cannot reach it
    assert not np.allclose(base, changed, atol=1e-4)  # the word's last byte is read


@pytest.mark.parametrize("kind", ["bytes", "hat"])
def test_contextual_and_sentence_vectors_have_one_row_per_word_and_text(make_model, tokenizer, kind):
    lm = loaded(make_model, tokenizer, kind)
    lm.model.eval()
    ctx = contextual_word_vectors(lm, ["cat", "dog", "unicorn"], TEST, max_occurrences=5)
    assert list(ctx.word) == ["cat", "dog"] and list(ctx.occurrences) == [2, 1]
    long_text = "a sentence long enough to need several windows of context " * 3
    vecs = sentence_vectors(lm, ["short one", long_text])
    assert vecs.shape == (2, ctx.vector.iloc[0].shape[0]) and np.isfinite(vecs).all()


def test_whitening_gives_unit_covariance():
    X = np.random.default_rng(0).normal(size=(500, 8)) @ np.random.default_rng(1).normal(size=(8, 8))
    W = whiten(X.astype(np.float32))
    assert np.allclose(np.cov(W, rowvar=False), np.eye(8), atol=1e-3)


def test_a_perfect_embedding_gets_spearman_one_on_the_covered_pairs():
    scores = np.linspace(0, 10, 12)
    pairs = pd.DataFrame({"word1": [f"a{i}" for i in range(12)], "word2": [f"b{i}" for i in range(12)],
                          "score": scores})
    angles = np.pi / 2 * (1 - scores / 10)  # higher human score -> smaller angle -> larger cosine
    vectors = {f"a{i}": np.array([1.0, 0.0]) for i in range(12)}
    vectors |= {f"b{i}": np.array([np.cos(t), np.sin(t)]) for i, t in enumerate(angles)}
    other = {w: v for w, v in vectors.items() if w != "b3"}
    shared = shared_pairs(pairs, [set(vectors), set(other)])
    assert len(shared) == 11  # the pair with b3 is dropped for every model
    result = word_similarity(shared, vectors, n_total=len(pairs), n_resamples=200)
    assert result["value"] == pytest.approx(1.0) and result["ci_low"] == pytest.approx(1.0)
    assert result["coverage"] == pytest.approx(11 / 12)
    reversed_vectors = {**vectors, **{f"b{i}": np.array([np.cos(t), np.sin(t)]) for i, t in enumerate(angles[::-1])}}
    assert word_similarity(shared, reversed_vectors, n_total=12, n_resamples=50)["value"] == pytest.approx(-1.0)


def test_bootstrap_spearman_is_spearmanr_on_each_resample():
    from scipy.stats import spearmanr

    from byteword.evaluation.bootstrap import resample_indices
    from byteword.evaluation.word_similarity import spearman_with_ci

    rng = np.random.default_rng(0)
    human, predicted = np.round(rng.normal(size=60), 1), rng.normal(size=60)  # ties in the human scores
    predicted[::5] = 0.0  # and in the cosines
    rho, low, high = spearman_with_ci(human, predicted, n_resamples=300, seed=3)
    boots = [spearmanr(human[i], predicted[i]).statistic for i in resample_indices(60, 300, 3)]
    assert rho == pytest.approx(spearmanr(human, predicted).statistic)
    assert (low, high) == pytest.approx((np.quantile(boots, 0.025), np.quantile(boots, 0.975)), abs=1e-12)
