"""Tokenizers: byte-level BPE trained with Hugging Face ``tokenizers``, and the byte "tokenizer".

Both are lossless on any text: BPE works on the 256 byte symbols of the GPT-2 byte<->unicode map
(every byte is in the initial alphabet, so nothing is ever unknown), and the byte tokenizer is the
UTF-8 encoding itself. The BPE vocabulary is laid out as

    id 0          BOS_TOKEN (the only special token)
    ids 1..256    the 256 single-byte symbols (sorted by their mapped unicode character)
    ids 257..     merges, in the order they were learnt

A ``tokenizer.json`` written by :func:`save_tokenizer` loads in
``transformers.PreTrainedTokenizerFast(tokenizer_file=...)`` and round-trips there too.

One caveat: the literal string ``"<|bos|>"`` inside a text is matched as the special token (HF
extracts added tokens before pre-tokenization, and its ``encode_special_tokens`` switch is not
saved in ``tokenizer.json``). ``decode`` skips special tokens by default, so such a text only
round-trips with ``decode(ids, skip_special_tokens=False)``; :func:`token_byte_spans` still tiles it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

BOS_TOKEN = "<|bos|>"
N_BYTES = 256
MIN_VOCAB_SIZE = N_BYTES + 1  # every byte + BOS: a BPE with no merges at all


@lru_cache(maxsize=1)
def byte_to_unicode() -> dict[int, str]:
    """The GPT-2 map used by the ByteLevel pre-tokenizer: each byte -> one printable character.

    Printable Latin-1 bytes map to themselves; the other 68 bytes (controls, space, ...) map in
    order to U+0100, U+0101, ... so that every byte has a visible, non-whitespace stand-in.
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {b: chr(b) for b in keep}
    shifted = 0
    for b in range(N_BYTES):
        if b not in mapping:
            mapping[b] = chr(N_BYTES + shifted)
            shifted += 1
    return mapping


@lru_cache(maxsize=1)
def unicode_to_byte() -> dict[str, int]:
    """Inverse of :func:`byte_to_unicode`."""
    return {c: b for b, c in byte_to_unicode().items()}


def train_bpe(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE with ``vocab_size`` ids in total (BOS + 256 bytes + merges).

    The result has fewer ids when the texts run out of pairs to merge; read the real size from
    ``tok.get_vocab_size()``.

    Deterministic: the HF trainer has no random state (ties between equally frequent pairs are
    broken by pair ids, and the alphabet is sorted), so the same texts give the same tokenizer.
    """
    if vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(
            f"vocab_size must be at least {MIN_VOCAB_SIZE} (256 byte symbols + the BOS token), got {vocab_size}"
        )
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS_TOKEN],  # listed first -> id 0
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, even unseen ones
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    if tok.token_to_id(BOS_TOKEN) != 0 or tok.get_vocab_size() < MIN_VOCAB_SIZE:
        raise RuntimeError("BPE training produced an unexpected vocabulary layout")
    return tok


def save_tokenizer(tok: Tokenizer, path: str | os.PathLike) -> None:
    """Write ``tok`` as ``tokenizer.json`` atomically: to a temporary name, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(tok.to_str(pretty=True))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    """Load a ``tokenizer.json`` written by :func:`save_tokenizer`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no tokenizer file at {path} (train one with the tokenizer rule first)")
    return Tokenizer.from_file(str(path))


def bos_id(tok: Tokenizer | ByteTokenizer) -> int:
    """Id of the BOS token (0 for trained BPE, 256 for :class:`ByteTokenizer`)."""
    if isinstance(tok, ByteTokenizer):
        return tok.bos_id
    i = tok.token_to_id(BOS_TOKEN)
    if i is None:
        raise KeyError(f"tokenizer has no {BOS_TOKEN} token")
    return i


def token_bytes(tok: Tokenizer, token_id: int) -> bytes:
    """The exact bytes one BPE id stands for (a special token stands for its UTF-8 text)."""
    s = tok.id_to_token(token_id)
    if s is None:
        raise KeyError(f"id {token_id} is not in the vocabulary")
    if token_id in special_ids(tok):
        return s.encode("utf-8")
    u2b = unicode_to_byte()
    return bytes(u2b[c] for c in s)


def token_byte_lengths(tok: Tokenizer) -> np.ndarray:
    """(vocab,) int64: how many bytes each id stands for, so a document's token byte ends are one cumsum."""
    specials = special_ids(tok)
    u2b = unicode_to_byte()
    out = np.zeros(tok.get_vocab_size(), dtype=np.int64)
    for s, i in tok.get_vocab().items():
        out[i] = len(s.encode("utf-8")) if i in specials else sum(1 for c in s if c in u2b)
    return out


def special_ids(tok: Tokenizer | ByteTokenizer) -> set[int]:
    """Ids of special tokens (BOS), which never stand for text bytes in a normal corpus."""
    if isinstance(tok, ByteTokenizer):
        return {tok.bos_id}
    return {i for i, t in tok.get_added_tokens_decoder().items() if t.special}


def token_byte_spans(tok: Tokenizer, text: str) -> list[tuple[int, int]]:
    """``(start, end)`` byte offsets into ``text.encode("utf-8")`` of each token of ``tok.encode(text)``.

    HF ``Encoding.offsets`` are *character* offsets, and a token holding part of a multi-byte
    character reports the whole character (two tokens of one "é" both say ``(0, 1)``), so they
    overlap and cannot give byte spans. Instead each byte-level token string has exactly one
    character per byte, so its byte length is its string length; cumulative sums give spans that
    tile the bytes exactly, splitting a character where the BPE split it.
    """
    specials = {i: tok.id_to_token(i) for i in special_ids(tok)}
    spans, pos = [], 0
    enc = tok.encode(text, add_special_tokens=False)
    for i, s in zip(enc.ids, enc.tokens):
        n = len(specials[i].encode("utf-8")) if i in specials else len(s)
        spans.append((pos, pos + n))
        pos += n
    if pos != len(text.encode("utf-8")):
        raise RuntimeError(f"token spans cover {pos} bytes, text has {len(text.encode('utf-8'))}")
    return spans


class ByteTokenizer:
    """The byte "tokenizer": ids 0..255 are UTF-8 bytes, 256 is BOS (vocabulary of 257)."""

    vocab_size = N_BYTES + 1
    bos_id = N_BYTES

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: Iterable[int]) -> str:
        # BOS (and anything out of byte range) is dropped; broken UTF-8 becomes U+FFFD.
        return bytes(i for i in ids if 0 <= i < N_BYTES).decode("utf-8", errors="replace")

    def get_vocab_size(self) -> int:
        return self.vocab_size
