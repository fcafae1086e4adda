"""Windows, the training sampler and batches: exact reconstructions and shared boundaries."""

import pytest
import torch

from byteword.data import WindowSampler, capacity, collate, eval_windows, split_windows
from byteword.segment import split_words
from byteword.tokenization import token_byte_spans

TEXT = "Hello  world,\tfoo-bar\r\n\nПривет мир 😀!! " + "A longer sentence with several words in it. " * 5


def test_windows_rebuild_the_document_and_respect_the_limit():
    windows = split_windows(TEXT, 32)
    assert b"".join(windows) == TEXT.encode()
    assert all(0 < len(w) <= 32 for w in windows)
    starts = {0}
    for word in split_words(TEXT):
        starts.add(max(starts) + len(word.encode()))
    pos = 0
    for w in windows:  # every window starts at a word boundary
        assert pos in starts
        pos += len(w)


def test_eval_windows_stop_before_the_document_that_passes_the_byte_cap():
    windows = eval_windows([TEXT, TEXT, TEXT], 32, 16, max_bytes=2 * len(TEXT.encode()) + 10)
    assert {w.doc for w in windows} == {0, 1}
    assert sum(w.n_scored for w in windows) == 2 * len(TEXT.encode())


def test_sampler_is_seeded_resumes_exactly_and_never_crosses_documents():
    texts = [TEXT, "short one", TEXT.upper()] * 7
    a, b = WindowSampler(texts, 48, seed=3), WindowSampler(texts, 48, seed=3)
    assert a.sample(5) == b.sample(5)
    state = a.state()
    first = a.sample(5)
    c = WindowSampler(texts, 48, seed=99)
    c.set_state(state)
    assert c.sample(5) == first
    many = a.sample(400)
    assert all(0 < len(w.data) <= 48 and w.score_from == 0 for w in many)
    assert all(w.data.decode("utf-8") for w in many)  # windows never cut a character
    # each window is a piece of its own document, at its offset
    assert all(w.data == texts[w.doc].encode()[w.offset: w.offset + len(w.data)] for w in many)
    assert {w.offset for w in many if w.doc % 3 == 0} > {0}  # starts are not word starts only
    assert any(w.data == b"short one" for w in many)  # a document shorter than the context is one window


def test_bpe_sampler_windows_hold_the_document_tokens(tokenizer):
    from byteword.data import document_tokens
    from byteword.tokenization import token_byte_lengths

    texts = [TEXT, TEXT.upper()]
    sampler = WindowSampler(texts, 48, seed=1, tokenizer=tokenizer)
    docs = document_tokens(tokenizer, texts, token_byte_lengths(tokenizer))
    for w in sampler.sample(50):
        ids, ends = docs[w.doc]
        starts = ends - token_byte_lengths(tokenizer)[ids]
        lo = list(starts).index(w.offset)  # the window starts where a document token starts
        assert list(w.token_ids) == ids[lo: lo + len(w.token_ids)].tolist()
        assert w.token_ends[-1] == len(w.data) and list(w.token_ends) == (ends[lo: lo + len(w.token_ids)]
                                                                        - w.offset).tolist()


def test_bpe_batch_credits_each_token_to_its_last_byte(tokenizer):
    windows = [w for w in split_windows(TEXT, 40)][:3]
    batch = collate(windows, "bpe", tokenizer)
    for i, w in enumerate(windows):
        spans = token_byte_spans(tokenizer, w.decode())
        n = len(spans)
        assert batch.target_mask[i].sum() == n
        assert batch.token_end[i, :n].tolist() == [e - 1 for _, e in spans]
        assert batch.ids[i, 0] == 0 and batch.ids[i, 1:n].tolist() == batch.targets[i, : n - 1].tolist()


def test_word_batch_rebuilds_every_window():
    windows = split_windows(TEXT, 64)
    batch = collate(windows, "words", max_word_bytes=6)
    assert int(batch.word_len.max()) <= 6
    for i, w in enumerate(windows):
        n = int((batch.word_len[i] > 0).sum())
        starts, lengths = batch.word_start[i, :n].tolist(), batch.word_len[i, :n].tolist()
        rebuilt = b"".join(bytes(batch.bytes[i, s: s + length].tolist()) for s, length in zip(starts, lengths))
        assert rebuilt == w
        assert batch.word_start[i, :n].tolist() == [0] + batch.word_len[i, : n - 1].cumsum(0).tolist()


def word_batch_one_word_at_a_time(windows, max_word_bytes):
    """The word batch built the plain way, one word at a time: the specification the gathered one meets."""
    words = [[w.encode("utf-8") for w in split_words(x.decode("utf-8"), max_word_bytes)] for x in windows]
    n = max(len(ws) for ws in words)
    word_len, word_start = torch.zeros(len(windows), n, dtype=torch.long), torch.zeros(len(windows), n, dtype=torch.long)
    for i, ws in enumerate(words):
        pos = 0
        for j, w in enumerate(ws):
            word_len[i, j], word_start[i, j] = len(w), pos
            pos += len(w)
    return word_len, word_start


@pytest.mark.parametrize("max_word_bytes", [4, 6, 16])
def test_the_gathered_word_batch_equals_the_one_built_word_by_word(max_word_bytes):
    windows = [*split_windows(TEXT, 64), b"", " ".encode(), "Привет".encode(), b"a" * 40]
    batch = collate(windows, "words", max_word_bytes=max_word_bytes)
    for got, want in zip((batch.word_len, batch.word_start),
                         word_batch_one_word_at_a_time(windows, max_word_bytes)):
        assert got.dtype == want.dtype and torch.equal(got, want)


def test_capacity_pads_by_less_than_a_quarter_with_four_sizes_per_doubling():
    assert [capacity(n) for n in range(1, 9)] == list(range(1, 9))
    assert [capacity(n) for n in (9, 10, 11, 17, 21, 25, 32, 33, 128, 129, 1400)] == \
        [10, 10, 12, 20, 24, 28, 32, 40, 128, 160, 1536]
    for k in range(3, 13):  # sizes 2^k + 1 .. 2^(k+1)
        sizes = range(2**k + 1, 2 ** (k + 1) + 1)
        caps = [capacity(n) for n in sizes]
        assert all(n <= c < 1.25 * n for n, c in zip(sizes, caps))
        assert len(set(caps)) == 4 and caps == sorted(caps)
    with pytest.raises(ValueError, match="got 0"):
        capacity(0)
