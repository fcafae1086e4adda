"""Tokenizers: losslessness on awkward text, vocabulary layout, byte spans, save/load."""

import pytest
from tokenizers import pre_tokenizers
from transformers import PreTrainedTokenizerFast

from byteword.tokenization import (
    BOS_TOKEN,
    ByteTokenizer,
    bos_id,
    byte_to_unicode,
    load_tokenizer,
    save_tokenizer,
    token_byte_spans,
    token_bytes,
    train_bpe,
)

# Texts that break naive tokenizers; several use characters never seen in training.
AWKWARD = [
    "",
    "plain ascii text",
    "Привет, мир! Ёлка",
    "emoji 😀👍🏽 and a family 👨‍👩‍👧",
    "tabs\tand\t\ttabs",
    "windows\r\nline\r\nends\r\n",
    "   leading spaces",
    "trailing spaces   ",
    "runs     of \n\n\n   whitespace",
    " ",
    "\n",
    "中文字符和日本語のかな",
    "control \x00\x01\x7f bytes",
    "a . b , c 's don 't",  # what clean_up_tokenization_spaces would mangle
    "ﬁ ligature, e\u0301 combining accent, \u00a0nbsp",
]

CORPUS = [
    "the cat sat on the mat. the dog sat on the log.\n",
    "Привет, мир! Как дела? Всё хорошо.\n",
    "tabs\tare\there, and\r\nwindows line ends too.\n",
    "emoji 😀 are four bytes; é is two.\n",
] * 20


@pytest.fixture(scope="module")
def bpe():
    return train_bpe(CORPUS, vocab_size=350)


def test_vocab_layout(bpe):
    assert bpe.token_to_id(BOS_TOKEN) == 0
    assert bos_id(bpe) == 0
    assert 257 < bpe.get_vocab_size() <= 350  # merges were learnt, within budget
    # ids 1..256 are single bytes, so every byte has an id
    assert sorted(token_bytes(bpe, i) for i in range(1, 257)) == [bytes([b]) for b in range(256)]


@pytest.mark.parametrize("text", AWKWARD)
def test_bpe_round_trip(bpe, text):
    assert bpe.decode(bpe.encode(text).ids) == text


def test_bpe_compresses_training_text(bpe):
    text = CORPUS[0]
    assert len(bpe.encode(text).ids) < len(text.encode("utf-8")) / 2


@pytest.mark.parametrize("text", AWKWARD)
def test_token_byte_spans_tile_the_bytes(bpe, text):
    spans = token_byte_spans(bpe, text)
    data = text.encode("utf-8")
    assert len(spans) == len(bpe.encode(text).ids)
    bounds = [0] + [e for _, e in spans]
    assert [s for s, _ in spans] == bounds[:-1]  # each token starts where the previous one ended
    assert bounds[-1] == len(data)
    assert all(e > s for s, e in spans)
    ids = bpe.encode(text).ids
    assert [data[s:e] for s, e in spans] == [token_bytes(bpe, i) for i in ids]


def test_spans_split_multibyte_characters_where_bpe_does():
    # With no merges every byte is its own token: "é😀" is 2 + 4 bytes -> six 1-byte spans, while
    # HF offsets are character offsets that repeat the whole character for each of its bytes.
    tok = train_bpe(["x"], vocab_size=257)
    assert token_byte_spans(tok, "é😀") == [(i, i + 1) for i in range(6)]
    assert tok.encode("é😀").offsets == [(0, 1), (0, 1), (1, 2), (1, 2), (1, 2), (1, 2)]


def test_byte_to_unicode_matches_hf_alphabet():
    mapping = byte_to_unicode()
    assert len(set(mapping.values())) == 256
    assert set(mapping.values()) == set(pre_tokenizers.ByteLevel.alphabet())
    assert mapping[ord("a")] == "a" and mapping[ord(" ")] == "Ġ" and mapping[ord("\n")] == "Ċ"


def test_literal_bos_text_is_the_special_token(bpe):
    text = f"a{BOS_TOKEN}b"
    ids = bpe.encode(text).ids
    assert 0 in ids
    assert bpe.decode(ids, skip_special_tokens=False) == text
    assert token_byte_spans(bpe, text)[-1][1] == len(text.encode("utf-8"))


def test_too_small_vocab_raises():
    with pytest.raises(ValueError, match="at least 257"):
        train_bpe(CORPUS, vocab_size=256)


def test_minimum_vocab_is_pure_bytes():
    tok = train_bpe(CORPUS, vocab_size=257)
    assert tok.get_vocab_size() == 257
    text = "the cat 😀"
    assert len(tok.encode(text).ids) == len(text.encode("utf-8"))


def test_training_is_deterministic(bpe):
    assert train_bpe(CORPUS, vocab_size=350).to_str() == bpe.to_str()


def test_save_load_round_trip(bpe, tmp_path):
    path = tmp_path / "tok" / "tokenizer.json"
    save_tokenizer(bpe, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokenizer.json"]  # no temp file left
    loaded = load_tokenizer(path)
    hf = PreTrainedTokenizerFast(tokenizer_file=str(path))
    assert hf.convert_tokens_to_ids(BOS_TOKEN) == 0
    for text in AWKWARD:
        ids = bpe.encode(text).ids
        assert loaded.encode(text).ids == ids
        assert hf.encode(text, add_special_tokens=False) == ids
        assert hf.decode(ids) == text
        assert hf.decode(ids, clean_up_tokenization_spaces=False) == text


def test_load_missing_file_says_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.json"):
        load_tokenizer(tmp_path / "nowhere.json")


def test_byte_tokenizer():
    tok = ByteTokenizer()
    assert tok.vocab_size == 257 and tok.bos_id == 256 and bos_id(tok) == 256
    assert tok.encode("é") == [0xC3, 0xA9]
    assert tok.encode("") == []
    for text in AWKWARD:
        ids = tok.encode(text)
        assert all(0 <= i < 256 for i in ids)
        assert tok.decode(ids) == text
    assert tok.decode([256, *tok.encode("hi")]) == "hi"  # BOS is not text
    assert tok.decode([0xC3]) == "\ufffd"  # a cut character decodes to the replacement char
