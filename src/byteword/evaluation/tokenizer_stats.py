"""Intrinsic tokenizer statistics: compression, word splitting, vocabulary use, Rényi efficiency.

Rényi efficiency follows Zouhar et al. 2023, "Tokenization and the Noiseless Channel":
``H_α(p) = ln(Σ p_i^α) / (1 - α)`` in nats over the unigram token distribution ``p``, divided by
``ln |V|`` (its value for a uniform distribution over ``V``), with α = 2.5 as recommended there.
Here ``|V|`` counts the non-special ids only (256 for bytes), so a tokenizer that spreads its text
evenly over every id it can emit scores exactly 1. Special tokens (BOS) are left out of the
entropies and of ``vocab_used``; they never occur unless a text contains the literal BOS string.
"""

from __future__ import annotations

import math

import numpy as np

from byteword.segment import word_byte_lengths
from byteword.tokenization import ByteTokenizer, special_ids

RENYI_ALPHA = 2.5


def renyi_entropy(counts, alpha: float = RENYI_ALPHA) -> float:
    """Rényi entropy of order ``alpha`` (nats) of the distribution ``counts / counts.sum()``.

    ``alpha == 1`` gives the Shannon entropy (the limit of the formula). Zero counts are ignored.
    """
    c = np.asarray(counts, dtype=np.float64)
    p = c[c > 0] / c.sum()
    if math.isclose(alpha, 1.0):
        return float(-(p * np.log(p)).sum())
    return float(np.log((p**alpha).sum()) / (1.0 - alpha))


def efficiency(counts, vocab_size: int, alpha: float = RENYI_ALPHA) -> float:
    """Rényi (or, with ``alpha=1``, Shannon) entropy divided by ``ln vocab_size``."""
    if vocab_size < 2:
        raise ValueError(f"efficiency needs a vocabulary of at least 2 ids, got {vocab_size}")
    return renyi_entropy(counts, alpha) / math.log(vocab_size)


def _encode_all(tok, texts: list[str]) -> list[list[int]]:
    """Token ids of each text, without BOS: ByteTokenizer or a HF ``tokenizers.Tokenizer``."""
    if isinstance(tok, ByteTokenizer):
        return [tok.encode(t) for t in texts]
    # encode_batch_fast skips computing offsets, which nothing here needs (they are characters anyway).
    return [e.ids for e in tok.encode_batch_fast(texts, add_special_tokens=False)]


def _length_table(tok) -> np.ndarray:
    """Byte length of every id, shape (vocab_size,) int64, to look token lengths up in one go."""
    if isinstance(tok, ByteTokenizer):
        table = np.ones(tok.vocab_size, dtype=np.int64)
        table[tok.bos_id] = 0
        return table
    # Byte-level token strings carry one character per byte; special tokens stand for their UTF-8 text.
    table = np.zeros(tok.get_vocab_size(), dtype=np.int64)
    specials = special_ids(tok)
    for s, i in tok.get_vocab().items():
        table[i] = len(s.encode("utf-8")) if i in specials else len(s)
    return table


def _n_split_words(word_lengths: list[int], token_lengths: np.ndarray) -> int:
    """Count words that are not exactly one token.

    A word (byte span ``[a, b)``) is *unsplit* when one token covers exactly ``[a, b)``: both ``a``
    and ``b`` are token boundaries and no boundary lies strictly inside. Otherwise it is *split*:
    either several tokens cover it, or it shares a token with a neighbouring word (a token crosses
    ``a`` or ``b``). So a word made of two whole tokens counts as split.
    """
    bounds = np.concatenate([[0], np.cumsum(token_lengths)])  # sorted token boundaries, (n_tokens + 1,)
    ends = np.cumsum(word_lengths)
    starts = ends - np.asarray(word_lengths)
    lo = np.searchsorted(bounds, starts, side="left")  # first boundary >= a
    hi = np.searchsorted(bounds, ends, side="left")  # first boundary >= b
    start_ok = bounds[lo] == starts
    end_ok = bounds[np.minimum(hi, len(bounds) - 1)] == ends
    # Boundaries in [a, b) are lo..hi-1; an unsplit word has exactly one there, namely a itself.
    unsplit = start_ok & end_ok & (hi - lo == 1)
    return int(len(word_lengths) - unsplit.sum())


def tokenizer_stats(tok, texts: list[str]) -> dict:
    """Statistics of ``tok`` (HF Tokenizer or ByteTokenizer) over documents ``texts``."""
    texts = list(texts)  # iterated twice: for encoding and for word splitting
    vocab_size = tok.get_vocab_size()
    specials = special_ids(tok)
    length_table = _length_table(tok)
    all_ids = []  # per document, int64 arrays of token ids
    n_bytes = n_words = n_split = 0
    for text, ids in zip(texts, _encode_all(tok, texts)):
        ids = np.asarray(ids, dtype=np.int64)
        word_lengths = word_byte_lengths(text).tolist()
        token_lengths = length_table[ids]  # (n_tokens_in_doc,)
        if token_lengths.sum() != sum(word_lengths):
            raise RuntimeError("tokens do not cover the text's bytes exactly; is the tokenizer lossless?")
        all_ids.append(ids)
        n_bytes += sum(word_lengths)
        n_words += len(word_lengths)
        n_split += _n_split_words(word_lengths, token_lengths)
    counts = np.bincount(np.concatenate([np.zeros(0, np.int64), *all_ids]), minlength=vocab_size)
    n_tokens = int(counts.sum())
    if n_tokens == 0:
        raise ValueError("texts contain no tokens (empty corpus)")
    normal = np.ones(vocab_size, dtype=bool)
    normal[list(specials)] = False
    n_normal = int(normal.sum())  # |V| without BOS
    text_counts = counts[normal]
    return {
        "vocab_size": vocab_size,
        "n_bytes": n_bytes,
        "n_tokens": n_tokens,
        "n_words": n_words,
        "bytes_per_token": n_bytes / n_tokens,
        "tokens_per_word": n_tokens / n_words,
        "share_words_split": n_split / n_words,
        "vocab_used": float((text_counts > 0).sum() / n_normal),
        "renyi_entropy": renyi_entropy(text_counts, RENYI_ALPHA),
        "renyi_efficiency": efficiency(text_counts, n_normal, RENYI_ALPHA),
        "shannon_entropy": renyi_entropy(text_counts, 1.0),
        "shannon_efficiency": efficiency(text_counts, n_normal, 1.0),
    }
