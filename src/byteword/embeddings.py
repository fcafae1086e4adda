"""Extraction of word and sentence vectors from any trained model.

Static: every word is read as " word" (leading space, original case), alone in its window, at the two
matched places every family defines in ``word_readings``: ``input`` (what its upper level receives for
the word: a flat model's mean input embedding, the hierarchical encoder's word vector, SpaceByte's and
H-Net's projected states at their global positions or chunks, MEGABYTE's patch embeddings) and
``output`` (its top level's state once it has read the word). The table is long: one row per word and
reading, with a ``reading`` column, so every evaluation reads both like two models.
Contextual: the mean, over a word's occurrences in held-out text, of the states that stand for the
text (each family's ``text_states``: byte states, BPE token states, or a word backbone's states) and
have just read the word.
Sentence: the mean of those states over a whole text (optionally whitened afterwards)."""

from __future__ import annotations

import random
import re

import numpy as np
import pandas as pd
import torch

from byteword.corpus import gensim_test_data
from byteword.data import char_start, split_windows
from byteword.evaluation.analogy import load_analogies
from byteword.evaluation.next_word import bucket_of, word_counts
from byteword.evaluation.noise import perturb_word
from byteword.models import READINGS
from byteword.segment import split_words

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


def pair_words(datasets: list[str]) -> list[str]:
    """Every word of the named word-similarity sets, sorted."""
    words = set()
    for d in datasets:
        pairs = load_word_pairs(d)
        words |= set(pairs.word1) | set(pairs.word2)
    return sorted(words)


@torch.no_grad()
def static_word_readings(loaded, words: list[str], batch_size: int = 64) -> dict[str, np.ndarray]:
    """{"input": (n_words, d_in), "output": (n_words, d_out)} float32 readings of " word" for a
    ``byteword.load``-ed model, one word per window."""
    out = {reading: [] for reading in READINGS}
    for s in range(0, len(words), batch_size):
        windows = [(" " + w).encode("utf-8") for w in words[s : s + batch_size]]
        readings = loaded.model.word_readings(loaded.batch(windows).to(loaded.device))
        for reading in READINGS:
            out[reading].append(readings[reading].float().cpu().numpy())
    return {reading: np.concatenate(v).astype(np.float32) for reading, v in out.items()}


def readings_table(lexicon: pd.DataFrame, readings: dict[str, np.ndarray], known=True) -> pd.DataFrame:
    """The lexicon's rows once per reading (in the order of ``readings``), with columns reading, dim,
    known (the word has a vector of its own: True for models, which build every word from its bytes or
    tokens) and vector (float32 arrays, one per row)."""
    parts = [lexicon.assign(reading=reading, dim=X.shape[1], known=known, vector=list(X.astype(np.float32)))
             for reading, X in readings.items()]
    return pd.concat(parts, ignore_index=True)


def vector_sizes(table: pd.DataFrame) -> dict[str, int]:
    """``write_parquet``'s fixed_size_lists for a vectors table: {"vector": dim} when every row has the same
    dim, else {} (readings of different widths are stored as plain lists)."""
    dims = table["vector"].map(len).unique()
    return {"vector": int(dims[0])} if len(dims) == 1 else {}


def vectors_table(words: list[str], vectors: np.ndarray) -> pd.DataFrame:
    """One row per word; ``vector`` holds float32 arrays (write with fixed_size_lists={"vector": dim})."""
    return pd.DataFrame({"word": words, "vector": list(vectors.astype(np.float32)), "dim": vectors.shape[1]})


def vectors_from_table(df: pd.DataFrame) -> dict[str, np.ndarray]:
    return {w: np.asarray(v, dtype=np.float32) for w, v in zip(df["word"], df["vector"])}


# ---- the lexicon: evaluation-set words, a sample per frequency bucket, unseen words, noised variants ----

LETTERS_ONLY = re.compile(r"[^\W\d_]+")


def build_lexicon(train_texts, test_texts, datasets: list[str], words_per_bucket: int, noised_words: int,
                  variants_per_word: int, seed: int = 0) -> pd.DataFrame:
    """One row per string to embed: word, kind (clean | noised), source (the clean word a variant came
    from), count in the training split and its bucket. Clean words: every word of the similarity and
    analogy sets plus up to ``words_per_bucket`` letter-only words per training-count bucket (unseen ones
    from the test split). Noised: ``variants_per_word`` one-edit variants (swap, substitute, delete) of
    ``noised_words`` clean words of at least 4 letters, none equal to a clean word."""
    counts = word_counts(train_texts)
    rng = random.Random(seed)
    clean = set(pair_words(datasets)) | set(load_analogies()[["a", "b", "c", "d"]].to_numpy().ravel())
    candidates = {w for w in counts if LETTERS_ONLY.fullmatch(w)}
    candidates |= {w for w in word_counts(test_texts) if LETTERS_ONLY.fullmatch(w) and w not in counts}
    by_bucket: dict[str, list[str]] = {}
    for w in sorted(candidates):
        by_bucket.setdefault(bucket_of(counts.get(w, 0)), []).append(w)
    for words in by_bucket.values():
        clean |= set(rng.sample(words, min(words_per_bucket, len(words))))
    rows = [(w, "clean", w) for w in sorted(clean)]
    sources = [w for w in sorted(clean) if len(w) >= 4 and LETTERS_ONLY.fullmatch(w)]
    noised = set()
    for w in rng.sample(sources, min(noised_words, len(sources))):
        for _ in range(variants_per_word):
            v = perturb_word(w, rng)
            if v not in clean and v not in noised:
                noised.add(v)
                rows.append((v, "noised", w))
    table = pd.DataFrame(rows, columns=["word", "kind", "source"])
    table["count"] = [counts.get(s, 0) for s in table["source"]]
    table["bucket"] = [bucket_of(c) for c in table["count"]]
    return table


# ---- contextual and sentence vectors: the states that stand for a text (each family's text_states) ----

@torch.no_grad()
def span_vectors(loaded, windows: list[bytes], spans: list[tuple[int, int]], batch_size: int = 16) -> np.ndarray:
    """(n, d) mean over each span [a, b) of its window of the model's ``text_states`` that have just read
    it (its ``read_positions``)."""
    out_rows = []
    for s in range(0, len(windows), batch_size):
        batch = loaded.batch(windows[s : s + batch_size])  # stays on the CPU: it locates the spans
        out = loaded.model(batch.to(loaded.device))
        states = loaded.model.text_states(out).float().cpu()  # (B, T_level, d)
        for row, (a, b) in enumerate(spans[s : s + batch_size]):
            pos = loaded.model.read_positions(batch, row, a, b)
            pos = pos[pos < states.shape[1]]
            out_rows.append(states[row, pos].mean(0).numpy())
    return np.stack(out_rows).astype(np.float32)


def contextual_word_vectors(loaded, words: list[str], texts, max_occurrences: int) -> pd.DataFrame:
    """Mean vector of each word over its first ``max_occurrences`` occurrences in ``texts`` (held-out text):
    window = up to context_bytes - len(word) - 1 bytes before it, the word, then the byte after it.
    Columns word, occurrences, vector; words that never occur are left out."""
    wanted, windows, spans, owners = set(words), [], [], []
    seen: dict[str, int] = {}
    for text in texts:
        data, offset = text.encode("utf-8"), 0
        for w in split_words(text):
            n, core = len(w.encode("utf-8")), w.lstrip()
            fits = n < loaded.context_bytes - 1 and offset + n < len(data)  # room for the byte after it
            if core in wanted and seen.get(core, 0) < max_occurrences and fits:
                start = char_start(data, max(0, offset - (loaded.context_bytes - n - 1)))
                windows.append(data[start : char_start(data, offset + n + 1)])  # + the whole next character
                spans.append((offset - start, offset + n - start))  # " word", leading whitespace included
                owners.append(core)
                seen[core] = seen.get(core, 0) + 1
            offset += n
    if not windows:
        return pd.DataFrame({"word": [], "occurrences": [], "vector": []})
    vectors = span_vectors(loaded, windows, spans)
    table = pd.DataFrame({"word": owners, "vector": list(vectors)})
    grouped = table.groupby("word", sort=True)["vector"]
    return pd.DataFrame({"word": list(grouped.groups), "occurrences": grouped.size().to_numpy(),
                         "vector": [np.mean(np.stack(v), 0).astype(np.float32) for _, v in grouped]})


def sentence_vectors(loaded, texts: list[str]) -> np.ndarray:
    """(n, d) mean of the main-level states over each text, read in windows of the training context."""
    windows, spans, owner = [], [], []
    for i, text in enumerate(texts):
        for w in split_windows(text, loaded.context_bytes - 1):  # room for the state that reads the last byte
            windows.append(w + b" ")
            spans.append((0, len(w)))
            owner.append(i)
    per_window = span_vectors(loaded, windows, spans)
    owner = np.array(owner)
    return np.stack([per_window[owner == i].mean(0) for i in range(len(texts))]).astype(np.float32)


def whiten(X: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centre and decorrelate rows (PCA whitening: unit variance along every principal direction)."""
    Xc = X - X.mean(0, keepdims=True)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    return (Xc @ vt.T / (s / np.sqrt(max(len(X) - 1, 1)) + eps)).astype(np.float32)
