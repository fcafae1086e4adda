"""The shared word splitter: lossless on awkward text, leading whitespace kept, byte limit honoured."""

import pytest

from byteword.segment import split_words, word_byte_lengths

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
