"""Tokenizer statistics and compressor baselines, against hand-worked answers."""

import math
import os

import numpy as np
import pytest

from byteword.evaluation.compressors import compressor_bpb
from byteword.evaluation.tokenizer_stats import _n_split_words, efficiency, renyi_entropy, tokenizer_stats
from byteword.tokenization import ByteTokenizer, train_bpe

KEYS = {
    "vocab_size", "n_bytes", "n_tokens", "n_words", "bytes_per_token", "tokens_per_word",
    "share_words_split", "vocab_used", "renyi_entropy", "renyi_efficiency",
    "shannon_entropy", "shannon_efficiency",
}


# --- entropy helpers -------------------------------------------------------------------------

def test_uniform_distribution_has_efficiency_one():
    assert renyi_entropy([1, 1, 1, 1]) == pytest.approx(math.log(4))
    assert efficiency([1, 1, 1, 1], vocab_size=4) == pytest.approx(1.0)
    assert efficiency([1, 1, 1, 1], vocab_size=4, alpha=1.0) == pytest.approx(1.0)


def test_renyi_by_hand():
    # p = (1/2, 1/4, 1/4): sum p^2.5 = 2^-2.5 + 2 * 2^-5 = 0.1767767 + 0.0625 = 0.2392767
    # H_2.5 = ln(0.2392767) / (1 - 2.5) = -1.430134 / -1.5 = 0.953423 nats
    assert renyi_entropy([2, 1, 1]) == pytest.approx(0.953423, abs=1e-6)
    assert efficiency([2, 1, 1], vocab_size=3) == pytest.approx(0.953423 / math.log(3), abs=1e-6)
    # Shannon: 1/2 ln 2 + 2 * 1/4 ln 4 = 1.5 ln 2
    assert renyi_entropy([2, 1, 1], alpha=1.0) == pytest.approx(1.5 * math.log(2))
    # Unused ids do not change the entropy, only the efficiency's denominator.
    assert renyi_entropy([2, 1, 1, 0, 0]) == pytest.approx(renyi_entropy([2, 1, 1]))
    # Rényi entropy falls as alpha rises (it weights frequent tokens more).
    assert renyi_entropy([2, 1, 1], alpha=2.5) < renyi_entropy([2, 1, 1], alpha=1.0)


# --- which words count as split --------------------------------------------------------------

@pytest.mark.parametrize(
    "words, tokens, n_split",
    [
        ([3, 4], [3, 4], 0),  # each word is one token
        ([3, 4], [2, 1, 4], 1),  # first word is two tokens
        ([3, 4], [2, 5], 2),  # a token crosses the word boundary: both words split
        ([3, 4], [7], 2),  # one token holds both words: both split
        ([1, 1, 1], [1, 2], 2),
        ([], [], 0),
    ],
)
def test_split_words_rule(words, tokens, n_split):
    assert _n_split_words(words, np.array(tokens, dtype=np.int64)) == n_split


# --- tokenizer_stats end to end --------------------------------------------------------------

def test_byte_tokenizer_stats_by_hand():
    # "ab cd" -> words "ab", " cd"; 5 bytes, 5 tokens, both words span more than one token.
    # "a b"   -> words "a", " b";   3 bytes, 3 tokens, "a" is one token, " b" is two.
    s = tokenizer_stats(ByteTokenizer(), ["ab cd", "a b"])
    assert set(s) == KEYS
    assert s["vocab_size"] == 257
    assert (s["n_bytes"], s["n_tokens"], s["n_words"]) == (8, 8, 4)
    assert s["bytes_per_token"] == 1.0
    assert s["tokens_per_word"] == 2.0
    assert s["share_words_split"] == 3 / 4
    # bytes used: a(2) b(2) space(2) c(1) d(1) -> 5 of the 256 byte ids
    assert s["vocab_used"] == 5 / 256
    counts = [2, 2, 2, 1, 1]
    assert s["renyi_entropy"] == pytest.approx(renyi_entropy(counts))
    assert s["renyi_efficiency"] == pytest.approx(renyi_entropy(counts) / math.log(256))
    assert s["shannon_efficiency"] == pytest.approx(renyi_entropy(counts, 1.0) / math.log(256))


def test_uniform_use_of_half_the_bytes():
    # Characters above U+007F are several UTF-8 bytes, so use the 128 ASCII characters, twice each:
    # a uniform distribution over 128 of the 256 byte ids, whose Rényi entropy is ln 128 exactly.
    text = "".join(chr(b) for b in range(128)) * 2
    s = tokenizer_stats(ByteTokenizer(), [text])
    assert s["renyi_entropy"] == pytest.approx(math.log(128))
    assert s["renyi_efficiency"] == pytest.approx(math.log(128) / math.log(256))
    assert s["vocab_used"] == 0.5


def test_bpe_without_merges_matches_byte_tokenizer():
    texts = ["Привет, мир!", "emoji 😀\tand\r\n  spaces", ""]
    bpe = train_bpe(["x"], vocab_size=257)
    a, b = tokenizer_stats(bpe, texts), tokenizer_stats(ByteTokenizer(), texts)
    assert a["bytes_per_token"] == 1.0
    for key in KEYS:
        assert a[key] == pytest.approx(b[key]), key


def test_trained_bpe_keeps_frequent_words_whole():
    bpe = train_bpe(["the cat the cat the cat"] * 10, vocab_size=300)
    s = tokenizer_stats(bpe, ["the cat the"])
    # "the", " cat", " the" are each learnt as one token
    assert (s["n_bytes"], s["n_tokens"], s["n_words"]) == (11, 3, 3)
    assert s["share_words_split"] == 0.0
    assert s["bytes_per_token"] == pytest.approx(11 / 3)
    assert s["tokens_per_word"] == 1.0


def test_empty_corpus_raises():
    with pytest.raises(ValueError):
        tokenizer_stats(ByteTokenizer(), ["", ""])


# --- compressors -----------------------------------------------------------------------------

def test_random_bytes_do_not_compress():
    data = os.urandom(100_000)
    rows = compressor_bpb(data)
    assert [r["compressor"] for r in rows] == ["gzip", "bz2", "lzma"]
    for r in rows:
        assert r["n_bytes"] == 100_000
        assert r["level"] == 9
        assert r["bpb"] == pytest.approx(8 * r["compressed_bytes"] / 100_000)
        assert r["bpb"] > 7.9


def test_constant_bytes_compress_to_almost_nothing():
    for r in compressor_bpb(b"a" * 100_000):
        assert r["n_bytes"] == 100_000
        assert r["bpb"] < 0.1


def test_compressors_reject_empty_data():
    with pytest.raises(ValueError):
        compressor_bpb(b"")
