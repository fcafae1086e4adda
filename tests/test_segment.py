"""The shared word splitter: lossless on awkward text, leading whitespace kept, byte limit honoured."""

import random
import re

import numpy as np
import pytest

from byteword.segment import (OTHER, SPACE, WORD, char_classes, split_words, word_byte_lengths,
                              words_of_texts)

AWKWARD = [
    "",
    "plain words here",
    "  leading and trailing  ",
    "tabs\tand\r\nCRLF\n\n\nblank lines",
    "Привет, мир! Cyrillic текст",
    "emoji 😀😀 👩‍👩‍👧 flags 🇧🇬",
    "东京都 中文 日本語",
    "naïve café (résumé) — “quotes” …",
    "x" * 100,
    "\u00a0non-breaking\u2009thin space",
]


@pytest.mark.parametrize("text", AWKWARD)
@pytest.mark.parametrize("limit", [None, 4, 7, 16])
def test_split_is_lossless_and_respects_the_byte_limit(text, limit):
    words = split_words(text, limit)
    assert "".join(words) == text
    assert all(words)
    if limit is not None:
        assert all(len(w.encode()) <= limit for w in words)


def test_words_keep_their_leading_space():
    assert split_words("The cat, sat.") == ["The", " cat", ",", " sat", "."]
    assert split_words("a  b\n\nc ") == ["a", "  b", "\n\nc", " "]


def test_long_words_are_chopped_at_character_boundaries():
    assert split_words(" ééééé", 4) == [" é", "éé", "éé"]
    with pytest.raises(ValueError, match="at least 4"):
        split_words("abc", 3)


def test_word_byte_lengths_match_the_words_and_tile_the_text():
    text = "Привет мир, ok"
    lengths = word_byte_lengths(text)
    assert lengths.tolist() == [len(w.encode()) for w in split_words(text)]
    assert int(lengths.sum()) == len(text.encode())


POOL = list(" \t\n\r\u00a0\u2009\u3000\u200b_abcXYZ019.,;!?-'\"()éßжЖ東京😀👩\u200d\u0301\u0903٣½")


@pytest.mark.parametrize("limit", [None, 4, 5, 7, 16])
def test_word_byte_lengths_equal_the_split_words_lengths(limit):
    """The lengths come from arrays of characters, not from the words: on awkward and random text (spaces,
    word characters and others of every script and byte width, in runs and mixed) they are the lengths of
    ``split_words``'s words, chops included."""
    rng = random.Random(limit)
    texts = AWKWARD + ["".join(rng.choice(POOL) for _ in range(rng.randint(0, 80))) for _ in range(500)]
    wants = []
    for text in texts:
        wants.append([len(w.encode()) for w in split_words(text, limit)])
        got = word_byte_lengths(text, limit)
        assert got.dtype == np.int64 and got.tolist() == wants[-1], text
    # all texts in one pass: each text opens its own words, whatever the previous one ended with
    lengths, counts = words_of_texts(texts, limit)
    assert counts.tolist() == [len(w) for w in wants] and lengths.tolist() == [n for w in wants for n in w]


def test_every_character_class_is_the_patterns():
    """The class table agrees with the regular expressions on the first 12,288 code points, around the
    surrogates and in the higher planes."""
    table = char_classes()
    for cp in [*range(0x3000), *range(0xD800 - 64, 0xD800), *range(0xE000, 0xE100), 0x10FFFF, 0x1F600, 0x20000]:
        ch = chr(cp)
        want = SPACE if re.fullmatch(r"\s", ch) else WORD if re.fullmatch(r"\w", ch) else OTHER
        assert table[cp] == want, hex(cp)
