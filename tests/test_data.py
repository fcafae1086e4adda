"""Windows, the training sampler and batches: exact reconstructions and shared boundaries."""

from byteword.data import WindowSampler, collate, document_windows, split_windows
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


def test_document_windows_stop_at_the_byte_cap():
    windows = document_windows([TEXT, TEXT], 32, max_bytes=100)
    assert sum(map(len, windows)) <= 100
    assert b"".join(windows) == TEXT.encode()[: sum(map(len, windows))]


def test_sampler_is_seeded_and_resumes_exactly():
    texts = [TEXT] * 20
    a, b = WindowSampler(texts, 48, seed=3), WindowSampler(texts, 48, seed=3)
    assert a.sample(5) == b.sample(5)
    state = a.state()
    first = a.sample(5)
    c = WindowSampler(texts, 48, seed=99)
    c.set_state(state)
    assert c.sample(5) == first
    assert all(0 < len(w) <= 48 for w in first)
    assert all(w.decode("utf-8") for w in first)  # windows never cut a character


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
        rebuilt = b"".join(bytes(batch.word_bytes[i, j, : batch.word_len[i, j]].tolist()) for j in range(n))
        assert rebuilt == w
        assert batch.word_start[i, :n].tolist() == [0] + batch.word_len[i, : n - 1].cumsum(0).tolist()
