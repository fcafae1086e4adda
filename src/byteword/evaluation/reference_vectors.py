"""Reference rows for the embedding evaluations: word vectors that learn nothing (bag of bytes, bag of
byte bigrams, random) or learn differently (fastText and word2vec, trained by gensim on the same
training split as the models). Each gives every lexicon word one vector, in the models' static-vector
format with reading "reference", so every evaluation scores them like a model.

- ``bag_of_bytes``: the 256 UTF-8 byte counts of " word" (the string the models read). Raw counts:
  every evaluation but TwoNN's distances is scale-free (cosines, standardised probes). Anagrams are equal.
- ``bag_of_bigrams``: counts of the byte bigrams of " word", exact (no hashing): one column per bigram
  that occurs in the lexicon, so the width is the lexicon's bigram count. The leading space makes " w"
  mark the first letter.
- ``random``: a standard Gaussian vector per word, drawn from a generator seeded by (seed, the word's
  SHA-256), so a word's vector does not depend on which other words are embedded.
- ``fasttext``, ``word2vec``: skip-gram with negative sampling on the training split, split into words
  by ``byteword.segment.split_words`` with the leading whitespace stripped and case kept (the models
  read " word" in its original case), one worker and a fixed seed, so two runs give identical vectors.
  ``known`` is False for a word neither saw in training: fastText builds its vector from the word's
  character n-grams; word2vec has none and gives it a zero vector, so it is still scored on the same
  pairs, questions and words as every model (an unseen word being no closer to anything than to anything
  else). The evaluations report the share of known words beside each score (``known_share``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from byteword.segment import split_words

REFERENCES = ("bag_of_bytes", "bag_of_bigrams", "random", "fasttext", "word2vec")
LEARNED = ("fasttext", "word2vec")
MAX_SENTENCE_WORDS = 10_000  # gensim silently drops the words of a sentence beyond this many


@dataclass(frozen=True)
class ReferenceConfig:
    vector_size: int = 100  # fastText, word2vec and random vectors
    epochs: int = 5
    window: int = 5
    min_count: int = 1  # every training word gets a vector of its own
    negative: int = 5
    fasttext_buckets: int = 100_000  # hashed character n-gram vectors (gensim's default, 2M, takes 800 MB)
    seed: int = 0


def reference_config_from_dict(d: dict, seed: int) -> ReferenceConfig:
    return ReferenceConfig(**d, seed=seed)


def strings(words: list[str]) -> list[bytes]:
    """The UTF-8 bytes of " word" for each word: what every model reads."""
    return [(" " + w).encode("utf-8") for w in words]


def bag_of_bytes(words: list[str]) -> np.ndarray:
    """(n, 256) float32 byte counts of " word"."""
    out = np.zeros((len(words), 256), dtype=np.float32)
    for i, s in enumerate(strings(words)):
        out[i] = np.bincount(np.frombuffer(s, dtype=np.uint8), minlength=256)
    return out


def bag_of_bigrams(words: list[str]) -> np.ndarray:
    """(n, n_bigrams) float32 counts of the byte bigrams of " word", one column per bigram occurring in
    ``words`` (in byte order), so nothing collides and the width stays small."""
    codes = [np.frombuffer(s, dtype=np.uint8).astype(np.int64) for s in strings(words)]
    pairs = [c[:-1] * 256 + c[1:] for c in codes]  # each bigram as one integer in [0, 65536)
    columns = np.unique(np.concatenate(pairs)) if pairs else np.zeros(0, np.int64)
    out = np.zeros((len(words), len(columns)), dtype=np.float32)
    for i, p in enumerate(pairs):
        np.add.at(out[i], np.searchsorted(columns, p), 1.0)
    return out


def random_vectors(words: list[str], dim: int, seed: int = 0) -> np.ndarray:
    """(n, dim) float32 standard Gaussian vectors, each from a generator seeded by (seed, the word)."""
    out = np.empty((len(words), dim), dtype=np.float32)
    for i, w in enumerate(words):
        word_key = int.from_bytes(hashlib.sha256(w.encode("utf-8")).digest()[:8], "little")
        out[i] = np.random.default_rng([seed, word_key]).standard_normal(dim)
    return out


def training_sentences(texts) -> list[list[str]]:
    """The training split as gensim sentences: one per line of each text, its words by ``split_words``
    with leading whitespace stripped (case kept), lines cut every ``MAX_SENTENCE_WORDS`` words."""
    sentences = []
    for text in texts:
        for line in text.splitlines():
            words = [w.lstrip() for w in split_words(line)]
            words = [w for w in words if w]  # whitespace-only pieces are no words
            sentences.extend(words[i:i + MAX_SENTENCE_WORDS] for i in range(0, len(words), MAX_SENTENCE_WORDS))
    return sentences


def train_word_vectors(name: str, sentences: list[list[str]], cfg: ReferenceConfig):
    """gensim KeyedVectors of a skip-gram fastText or word2vec model; deterministic (one worker, fixed seed)."""
    from gensim.models import FastText, Word2Vec

    common = dict(sentences=sentences, vector_size=cfg.vector_size, window=cfg.window, min_count=cfg.min_count,
                  epochs=cfg.epochs, negative=cfg.negative, sg=1, workers=1, seed=cfg.seed)
    if name == "fasttext":
        return FastText(**common, bucket=cfg.fasttext_buckets, min_n=3, max_n=6).wv
    if name == "word2vec":
        return Word2Vec(**common).wv
    raise ValueError(f"unknown learned reference {name!r}; known: {', '.join(LEARNED)}")


def lookup(wv, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) float32 vectors and (n,) bool known (the word was in training). fastText builds an unseen
    word from its n-grams; word2vec cannot, and the word gets zeros."""
    from gensim.models.fasttext import FastTextKeyedVectors

    known = np.array([w in wv.key_to_index for w in words], dtype=bool)
    subwords = isinstance(wv, FastTextKeyedVectors)
    X = np.zeros((len(words), wv.vector_size), dtype=np.float32)
    for i, w in enumerate(words):
        if known[i] or subwords:
            X[i] = wv[w]
    return X, known


def reference_vectors(name: str, words: list[str], train_texts=None,
                      cfg: ReferenceConfig = ReferenceConfig()) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) float32 vectors of ``words`` by the reference ``name`` and (n,) bool known; the learned
    references train on ``train_texts``."""
    if name == "bag_of_bytes":
        X = bag_of_bytes(words)
    elif name == "bag_of_bigrams":
        X = bag_of_bigrams(words)
    elif name == "random":
        X = random_vectors(words, cfg.vector_size, cfg.seed)
    elif name in LEARNED:
        return lookup(train_word_vectors(name, training_sentences(train_texts), cfg), words)
    else:
        raise ValueError(f"unknown reference {name!r}; known: {', '.join(REFERENCES)}")
    return X, np.ones(len(words), dtype=bool)


def reference_table(lexicon: pd.DataFrame, X: np.ndarray, known: np.ndarray) -> pd.DataFrame:
    """The lexicon's rows with reading "reference", dim, known and vector: the models' static format."""
    from byteword.evaluation.vectors import readings_table

    return readings_table(lexicon, {"reference": X}, known=known)
