"""The word splitter shared by every word-level model and every word-level metric.

A word is a run of whitespace (possibly empty) followed by either a run of word characters
(Unicode letters, digits, marks, underscore) or a run of other non-space characters. Words keep
their leading whitespace (" world", "\\n\\nThe"), so ``"".join(split_words(t)) == t`` always holds.
Whitespace at the very end of a text is a word of its own. Words longer than ``max_word_bytes``
UTF-8 bytes are chopped at character boundaries into pieces of at most that many bytes.
"""

from __future__ import annotations

import functools
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


def check_limit(max_word_bytes: int | None) -> None:
    if max_word_bytes is not None and max_word_bytes < 4:
        raise ValueError(f"max_word_bytes must be at least 4 (one UTF-8 character), got {max_word_bytes}")


def split_words(text: str, max_word_bytes: int | None = None) -> list[str]:
    """Split ``text`` into words with leading whitespace; the pieces concatenate back to ``text``."""
    check_limit(max_word_bytes)
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


SPACE, WORD, OTHER = 0, 1, 2  # the classes of a character that decide where words start


@functools.cache
def char_classes() -> np.ndarray:
    """(0x110000,) uint8 class of every code point as ``WORD_PATTERN`` reads it: SPACE (``\\s``), WORD (``\\w``)
    or OTHER, found by the same regular expressions over every character once (a tenth of a second)."""
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", errors="surrogatepass")  # surrogates too
    table = np.full(len(every), OTHER, dtype=np.uint8)
    for pattern, cls in ((r"\w+", WORD), (r"\s+", SPACE)):
        for m in re.finditer(pattern, every):
            table[m.start():m.end()] = cls
    return table


def word_byte_lengths(text: str, max_word_bytes: int | None = None) -> np.ndarray:
    """UTF-8 length (int64) of each word of ``split_words(text, max_word_bytes)``: the words tile the text, so
    these sum to its bytes."""
    return words_of_texts([text], max_word_bytes)[0]


def words_of_texts(texts: list[str], max_word_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The words of ``split_words`` for many texts at once: (words,) int64 UTF-8 length of every word of every
    text, in order, and (texts,) int64 words per text.

    Computed on one array of all the texts' characters, not word by word: a word starts at a text's first
    character, at whitespace after a non-space, and where a run of word characters meets a run of other
    non-space characters; a word longer than ``max_word_bytes`` is cut greedily, piece by piece, for all such
    words at once."""
    check_limit(max_word_bytes)
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype="<u4")  # (n,) code points
    first = np.cumsum([0] + [len(t) for t in texts])[:-1]  # (texts,) each text's first character
    cls = char_classes()[points]
    prev = np.concatenate([[SPACE], cls[:-1]])
    opens = ((cls == SPACE) | (cls != prev)) & (prev != SPACE)
    opens[first[first < len(points)]] = True  # every text opens a word (an empty one has none)
    size = 1 + (points >= 0x80).astype(np.int64) + (points >= 0x800) + (points >= 0x10000)  # UTF-8 bytes per char
    before = np.concatenate([[0], np.cumsum(size)])  # (n+1,) bytes before each character
    if max_word_bytes is not None:
        starts = np.flatnonzero(opens)  # (words,) first character of each word
        ends = np.append(starts[1:], len(points))
        long = before[ends] - before[starts] > max_word_bytes
        pos, end = starts[long], ends[long]
        while len(pos):  # one more piece of every word still too long: as many characters as fit
            pos = np.minimum(np.searchsorted(before, before[pos] + max_word_bytes, side="right") - 1, end)
            keep = pos < end
            pos, end = pos[keep], end[keep]
            opens[pos] = True
    starts = np.flatnonzero(opens)
    per_text = np.diff(np.append(np.searchsorted(starts, first), len(starts)))
    return np.diff(before[np.append(starts, len(points))]), per_text
