"""The word splitter shared by every word-level model and every word-level metric.

A word is a run of whitespace (possibly empty) followed by either a run of word characters
(Unicode letters, digits, marks, underscore) or a run of other non-space characters. Words keep
their leading whitespace (" world", "\\n\\nThe"), so ``"".join(split_words(t)) == t`` always holds.
Whitespace at the very end of a text is a word of its own. Words longer than ``max_word_bytes``
UTF-8 bytes are chopped at character boundaries into pieces of at most that many bytes.
"""

from __future__ import annotations

import re

import numpy as np

WORD_PATTERN = re.compile(r"\s*(?:\w+|[^\w\s]+)|\s+")


def _chop(word: str, max_word_bytes: int) -> list[str]:
    """Split one word into pieces of at most ``max_word_bytes`` bytes, never inside a character."""
    pieces, current, size = [], [], 0
    for ch in word:
        n = len(ch.encode("utf-8"))
        if size + n > max_word_bytes and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += n
    if current:
        pieces.append("".join(current))
    return pieces


def split_words(text: str, max_word_bytes: int | None = None) -> list[str]:
    """Split ``text`` into words with leading whitespace; the pieces concatenate back to ``text``."""
    if max_word_bytes is not None and max_word_bytes < 4:
        raise ValueError(f"max_word_bytes must be at least 4 (one UTF-8 character), got {max_word_bytes}")
    words = WORD_PATTERN.findall(text)
    if max_word_bytes is None:
        return words
    out: list[str] = []
    for w in words:
        if len(w.encode("utf-8")) > max_word_bytes:
            out.extend(_chop(w, max_word_bytes))
        else:
            out.append(w)
    return out


def word_byte_lengths(text: str, max_word_bytes: int | None = None) -> np.ndarray:
    """UTF-8 length (int64) of each word of ``text``: the words tile the text, so these sum to its bytes."""
    return np.array([len(w.encode("utf-8")) for w in split_words(text, max_word_bytes)], dtype=np.int64)
