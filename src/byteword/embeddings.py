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

import numpy as np
import pandas as pd
import torch

from byteword.data import char_start, split_windows
from byteword.datasets import ANALOGY_COLUMNS, load_analogies, pair_words
from byteword.evaluation.next_word import bucket_of, word_counts
from byteword.evaluation.noise import perturb_word
from byteword.evaluation.vectors import LETTERS_ONLY
from byteword.models import READINGS
from byteword.segment import split_words

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


# ---- the lexicon: evaluation-set words, a sample per frequency bucket, unseen words, noised variants ----

def build_lexicon(train_texts, test_texts, datasets: list[str], words_per_bucket: int, noised_words: int,
                  variants_per_word: int, seed: int = 0) -> pd.DataFrame:
    """One row per string to embed: word, kind (clean | noised), source (the clean word a variant came
    from), count in the training split and its bucket. Clean words: every word of the similarity and
    analogy sets plus up to ``words_per_bucket`` letter-only words per training-count bucket (unseen ones
    from the test split). Noised: ``variants_per_word`` one-edit variants (swap, substitute, delete) of
    ``noised_words`` clean words of at least 4 letters, none equal to a clean word."""
    counts = word_counts(train_texts)
    rng = random.Random(seed)
    clean = set(pair_words(datasets)) | set(load_analogies()[ANALOGY_COLUMNS].to_numpy().ravel())
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
    """(n, d) mean of the model's ``text_states`` over each text, read in windows of the training context."""
    windows, spans, owner = [], [], []
    for i, text in enumerate(texts):
        for w in split_windows(text, loaded.context_bytes - 1):  # room for the state that reads the last byte
            windows.append(w + b" ")
            spans.append((0, len(w)))
            owner.append(i)
    per_window = span_vectors(loaded, windows, spans)
    owner = np.array(owner)
    return np.stack([per_window[owner == i].mean(0) for i in range(len(texts))]).astype(np.float32)
