"""Encoded corpora: the memory-mapped arrays decode back to the documents exactly, and a sampler
over them draws the very windows a sampler over the texts draws."""

import numpy as np
import pytest

from byteword.data import WindowSampler
from byteword.encode import encode_split, ids_dtype, load_encoded
from byteword.tokenization import token_bytes

from conftest import SAMPLE

# documents in three scripts, and whitespace at their edges (the sampler must keep every document to itself)
TEXTS = [SAMPLE, "Второй документ: кириллица.", "第三个文件没有空格。", "  leading spaces\n\nand a blank line ",
         "x", "long trailing run" + " " * 100, " \n ", "emoji 😀😀 end \n"]


@pytest.mark.parametrize("batch_docs", [1, 4])
def test_memmaps_decode_back_to_the_documents(tmp_path, tokenizer, batch_docs):
    meta = encode_split(TEXTS, tmp_path, tokenizer=tokenizer, batch_docs=batch_docs)
    enc = load_encoded(tmp_path)
    assert isinstance(enc["bytes"], np.memmap) and enc["ids"].dtype == np.uint16
    assert enc["bytes"].tobytes() == "\n\n".join(TEXTS).encode("utf-8")
    assert meta["n_tokens"] == len(enc["ids"]) and meta["n_docs"] == len(enc["doc_starts"]) - 1
    for i, text in enumerate(TEXTS):
        ids = enc["ids"][enc["token_starts"][i]: enc["token_starts"][i + 1]]
        assert b"".join(token_bytes(tokenizer, int(t)) for t in ids) == text.encode("utf-8")
        assert ids.tolist() == tokenizer.encode(text, add_special_tokens=False).ids
        doc = enc["bytes"][enc["doc_starts"][i]: enc["doc_starts"][i + 1]].tobytes()
        assert doc == (text if i == 0 else "\n\n" + text).encode("utf-8")


@pytest.mark.parametrize("bpe", [False, True])
def test_sampler_over_the_memmaps_draws_the_same_windows(tmp_path, tokenizer, bpe):
    tok = tokenizer if bpe else None
    encode_split(TEXTS, tmp_path, tokenizer=tok)
    enc = load_encoded(tmp_path)
    texts_sampler = WindowSampler(TEXTS, 64, seed=3, tokenizer=tok)
    mapped_sampler = WindowSampler.from_encoded(enc, 64, seed=3, tokenizer=tok)
    assert [mapped_sampler.sample(4) for _ in range(5)] == [texts_sampler.sample(4) for _ in range(5)]
    if not bpe:  # encoded without ids, the sampler tokenizes the documents itself, to the same windows
        again = WindowSampler.from_encoded(enc, 64, seed=3, tokenizer=tokenizer)
        assert again.sample(8) == WindowSampler(TEXTS, 64, seed=3, tokenizer=tokenizer).sample(8)


def test_ids_use_the_smallest_dtype_that_fits():
    assert ids_dtype(50_000) == np.uint16 and ids_dtype(65_536) == np.uint16 and ids_dtype(65_537) == np.uint32
