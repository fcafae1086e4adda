"""Text as bytes, evaluation and training windows cut at word boundaries, and batches per family.

Every family sees the same windows: a window is a run of whole words (``byteword.segment``) of at
most ``context_bytes`` UTF-8 bytes. Batches are built from windows by the model's ``batch_kind``:
"bytes" (byte transformer), "bpe" (token ids with each token's last byte) or "words" (bytes per word).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from byteword.segment import split_words, word_byte_starts


@dataclass
class Batch:
    bytes: torch.Tensor  # (B, W) int64 window bytes, 0-padded
    byte_mask: torch.Tensor  # (B, W) bool
    ids: torch.Tensor | None = None  # bpe: (B, T) inputs, BOS first
    targets: torch.Tensor | None = None  # bpe: (B, T) next tokens
    target_mask: torch.Tensor | None = None  # bpe: (B, T) bool
    token_end: torch.Tensor | None = None  # bpe: (B, T) window index of each target token's last byte
    word_bytes: torch.Tensor | None = None  # words: (B, N, L) bytes of each word, 0-padded
    word_len: torch.Tensor | None = None  # words: (B, N) bytes per word, 0 for padding words
    word_start: torch.Tensor | None = None  # words: (B, N) window index of each word's first byte

    def to(self, device) -> "Batch":
        """The same batch with every tensor on ``device``."""
        return Batch(**{f.name: None if (t := getattr(self, f.name)) is None else t.to(device) for f in fields(self)})


def split_windows(text: str, context_bytes: int) -> list[bytes]:
    """Cut one document into consecutive windows of whole words, each at most ``context_bytes`` bytes.
    A single word longer than the window is cut at character boundaries."""
    windows, current, size = [], [], 0
    for word in split_words(text, max_word_bytes=context_bytes):
        b = word.encode("utf-8")
        if size + len(b) > context_bytes and current:
            windows.append(b"".join(current))
            current, size = [], 0
        current.append(b)
        size += len(b)
    if current:
        windows.append(b"".join(current))
    return windows


def char_start(data: bytes, i: int) -> int:
    """The first index >= i that is not a UTF-8 continuation byte, so a window never starts mid-character."""
    while i < len(data) and data[i] & 0xC0 == 0x80:
        i += 1
    return i


def document_windows(texts, context_bytes: int, max_bytes: int | None = None) -> list[bytes]:
    """Evaluation windows over documents in order, stopping once ``max_bytes`` are collected."""
    out, total = [], 0
    for text in texts:
        for w in split_windows(text, context_bytes):
            if max_bytes is not None and total + len(w) > max_bytes:
                return out
            out.append(w)
            total += len(w)
    return out


class WindowSampler:
    """Random training windows over the training documents joined by blank lines.

    The stream is held as uint8 with the byte offsets of its word starts; a window starts at a
    random word start and ends at the last word start that keeps it within ``context_bytes``.
    The sampler's state is a plain dict (JSON-serialisable) for exact resume."""

    def __init__(self, texts, context_bytes: int, seed: int):
        stream = "\n\n".join(texts)
        data = np.frombuffer(stream.encode("utf-8"), dtype=np.uint8)
        self._setup(data, np.append(word_byte_starts(stream, max_word_bytes=context_bytes), len(data)), context_bytes,
                    seed)

    @classmethod
    def from_encoded(cls, encoded: dict, context_bytes: int, seed: int) -> "WindowSampler":
        """The same sampler over a split encoded by ``byteword.encode`` (memory-mapped, not re-split)."""
        if encoded["meta"]["max_word_bytes"] != context_bytes:
            raise ValueError(f"the split was encoded with max_word_bytes={encoded['meta']['max_word_bytes']}, "
                             f"not the context of {context_bytes} bytes; encode it again with that value")
        sampler = cls.__new__(cls)
        sampler._setup(encoded["bytes"], encoded["word_starts"], context_bytes, seed)  # no copy of either
        return sampler

    def _setup(self, data: np.ndarray, starts: np.ndarray, context_bytes: int, seed: int) -> None:
        self.data = data  # (n_bytes,) uint8
        self.starts = starts  # (n_words + 1,) int64 word starts, then the end
        self.context_bytes = context_bytes
        self.rng = np.random.default_rng(seed)
        if len(self.data) <= context_bytes:
            raise ValueError(f"training text has {len(self.data)} bytes, fewer than one window of {context_bytes}")
        # windows may start at word starts up to here, so that a full window still fits
        self.n_starts = max(int(np.searchsorted(self.starts, len(self.data) - context_bytes, side="right")), 1)

    def sample(self, batch_size: int) -> list[bytes]:
        picks = self.rng.integers(0, self.n_starts, size=batch_size)
        out = []
        for i in picks:
            s = self.starts[i]
            e = self.starts[np.searchsorted(self.starts, s + self.context_bytes, side="right") - 1]
            out.append(self.data[s:e].tobytes())
        return out

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def _pad(rows: list[list[int]], value: int, width: int | None = None) -> torch.Tensor:
    width = width or max((len(r) for r in rows), default=0) or 1
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def collate(windows: list[bytes], kind: str, tokenizer=None, max_word_bytes: int = 16) -> Batch:
    """Build the batch a family of ``kind`` reads from byte windows."""
    byte_rows = [list(w) for w in windows]
    batch = Batch(bytes=_pad(byte_rows, 0), byte_mask=_pad([[1] * len(r) for r in byte_rows], 0).bool())
    if kind == "bytes":
        return batch
    texts = [w.decode("utf-8") for w in windows]
    if kind == "bpe":
        from byteword.tokenization import bos_id, token_byte_spans

        bos = bos_id(tokenizer)
        ids = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
        ends = [[end - 1 for _, end in token_byte_spans(tokenizer, t)] for t in texts]
        batch.ids = _pad([[bos] + r[:-1] for r in ids], bos)
        batch.targets = _pad(ids, -100)
        batch.target_mask = batch.targets >= 0
        batch.token_end = _pad(ends, 0)
        return batch
    if kind == "words":
        words = [[w.encode("utf-8") for w in split_words(t, max_word_bytes)] for t in texts]
        n = max(len(ws) for ws in words)
        L = max((len(w) for ws in words for w in ws), default=1)
        batch.word_bytes = torch.zeros(len(windows), n, L, dtype=torch.long)
        batch.word_len = torch.zeros(len(windows), n, dtype=torch.long)
        batch.word_start = torch.zeros(len(windows), n, dtype=torch.long)
        for i, ws in enumerate(words):
            pos = 0
            for j, w in enumerate(ws):
                batch.word_bytes[i, j, : len(w)] = torch.tensor(list(w))
                batch.word_len[i, j], batch.word_start[i, j] = len(w), pos
                pos += len(w)
        return batch
    raise ValueError(f"unknown batch kind {kind!r}")
