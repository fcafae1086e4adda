"""Extraction of static word vectors from any trained model.

Every word is read as " word" (leading space, original case), alone in its window. What the vector
is depends on the family but is chosen by the model itself (``static_word_vectors``): the
hierarchical encoder's word vector; the mean of a BPE word's input embeddings; the mean of the
byte transformer's final hidden states over the word's bytes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from byteword.corpus import gensim_test_data

WORD_PAIR_FILES = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}


def load_word_pairs(dataset: str) -> pd.DataFrame:
    """Human similarity judgements shipped in the gensim wheel: columns word1, word2, score."""
    if dataset not in WORD_PAIR_FILES:
        raise ValueError(f"unknown word-similarity dataset {dataset!r}; known: {', '.join(WORD_PAIR_FILES)}")
    rows = []
    for line in gensim_test_data(WORD_PAIR_FILES[dataset]).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        w1, w2, score = line.split("\t")[:3]
        rows.append((w1, w2, float(score)))
    return pd.DataFrame(rows, columns=["word1", "word2", "score"])


def lexicon(datasets: list[str]) -> list[str]:
    words = set()
    for d in datasets:
        pairs = load_word_pairs(d)
        words |= set(pairs.word1) | set(pairs.word2)
    return sorted(words)


@torch.no_grad()
def static_word_vectors(loaded, words: list[str], batch_size: int = 64) -> np.ndarray:
    """(n_words, d) float32 vectors of " word" for a ``byteword.load``-ed model."""
    out = []
    for s in range(0, len(words), batch_size):
        windows = [(" " + w).encode("utf-8") for w in words[s : s + batch_size]]
        out.append(loaded.model.static_word_vectors(loaded.batch(windows)).float().numpy())
    return np.concatenate(out).astype(np.float32)


def vectors_table(words: list[str], vectors: np.ndarray) -> pd.DataFrame:
    """One row per word; ``vector`` holds float32 arrays (write with fixed_size_lists={"vector": dim})."""
    return pd.DataFrame({"word": words, "vector": list(vectors.astype(np.float32)), "dim": vectors.shape[1]})


def vectors_from_table(df: pd.DataFrame) -> dict[str, np.ndarray]:
    return {w: np.asarray(v, dtype=np.float32) for w, v in zip(df["word"], df["vector"])}
