"""Text as bytes, evaluation and training windows, and batches per family.

Every family sees the same windows, cut by byte offsets alone (never by the length of the next word):
an evaluation window holds up to ``context_bytes`` bytes of one document, scores its last stride and
reads the bytes before as context (``eval_windows``); a training window starts at a random character
boundary of a document (``WindowSampler``). Batches are built from windows by the model's
``batch_kind``: "bytes" (byte transformer), "bpe" (the document's token ids with each token's last
byte) or "words" (the window bytes with the length and start of each word, split inside the window).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields

import numpy as np
import torch

from byteword.segment import split_words, words_of_texts


@dataclass
class Batch:
    bytes: torch.Tensor  # (B, W) int64 window bytes, 0-padded
    byte_mask: torch.Tensor  # (B, W) bool
    score_mask: torch.Tensor | None = None  # (B, W) bool: the scored span (the rest of byte_mask is context)
    ids: torch.Tensor | None = None  # bpe: (B, T) inputs, BOS first
    targets: torch.Tensor | None = None  # bpe: (B, T) next tokens
    target_mask: torch.Tensor | None = None  # bpe: (B, T) bool
    token_end: torch.Tensor | None = None  # bpe: (B, T) window index of each target token's last byte
    word_len: torch.Tensor | None = None  # words: (B, N) bytes per word, 0 for padding words
    word_start: torch.Tensor | None = None  # words: (B, N) window index of each word's first byte

    def to(self, device, non_blocking: bool = False) -> "Batch":
        """The same batch with every tensor on ``device`` (``non_blocking``: a copy from pinned memory that
        does not wait for the GPU)."""
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> "Batch":
        """The same batch in page-locked memory, from which a copy to the GPU can run while it computes."""
        return self._map(torch.Tensor.pin_memory)

    def _map(self, fn) -> "Batch":
        return Batch(**{f.name: None if (t := getattr(self, f.name)) is None else fn(t) for f in fields(self)})


def split_windows(text: str, context_bytes: int) -> list[bytes]:
    """Cut one text into consecutive pieces of whole words, each at most ``context_bytes`` bytes (a word
    longer than that is cut at character boundaries). For embedding extraction and the convenience API;
    every reported BPB is scored on ``eval_windows``, whose cuts never depend on the next word."""
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


def char_floor(data, i: int) -> int:
    """The last character boundary <= i, found from the bytes *before* i only: if the last lead byte before
    i starts a character that i would cut, step back to it. A cut never depends on the byte at i or later."""
    j = i - 1
    while j >= 0 and i - j <= 4 and data[j] & 0xC0 == 0x80:  # back over continuation bytes
        j -= 1
    if j < 0 or i - j > 4:
        return i
    lead = data[j]
    length = 1 if lead < 0x80 else 2 if lead >> 5 == 0b110 else 3 if lead >> 4 == 0b1110 else 4
    return j if j + length > i else i


@dataclass(frozen=True)
class Window:
    """A window of one document: ``data[:score_from]`` is context (read, not scored), ``data[score_from:]``
    the scored span. BPE windows carry the document's tokens that lie wholly inside the window, with their
    byte ends relative to ``data``; the tokens before ``score_from`` are the context."""

    data: bytes
    score_from: int = 0
    doc: int = 0  # the document's index in its split: the unit intervals resample
    offset: int = 0  # byte offset of data[0] in the document
    token_ids: tuple[int, ...] | None = None
    token_ends: tuple[int, ...] | None = None  # exclusive byte end of each token inside data

    @property
    def n_scored(self) -> int:
        return len(self.data) - self.score_from

    def prefix(self, n: int) -> "Window":
        """The window's first ``n`` bytes, with the tokens that end inside them."""
        ids = ends = None
        if self.token_ids is not None:
            keep = sum(1 for e in self.token_ends if e <= n)
            ids, ends = self.token_ids[:keep], self.token_ends[:keep]
        return Window(self.data[:n], min(self.score_from, n), self.doc, self.offset, ids, ends)


def window_cuts(n_bytes_doc: int, data, context_bytes: int, stride_bytes: int) -> list[tuple[int, int, int]]:
    """(start, score_from, end) byte offsets of a document's evaluation windows. The first window is the
    first ``context_bytes`` and scores all of them; each later window ends ``stride_bytes`` after the
    previous end and scores only the bytes after it, reading the bytes before (up to ``context_bytes`` in
    all) as context. Every cut is a character boundary found from the bytes before it, so no cut depends
    on what follows; the scored spans tile the document exactly."""
    if not 4 <= stride_bytes <= context_bytes:
        raise ValueError(f"stride_bytes must be between 4 and context_bytes ({context_bytes}), got {stride_bytes}")
    cuts, prev, nominal = [], 0, context_bytes
    while prev < n_bytes_doc:
        end = n_bytes_doc if nominal >= n_bytes_doc else char_floor(data, nominal)
        if end <= prev:  # cannot happen for valid UTF-8 and stride >= 4; guard against an endless loop
            raise ValueError(f"window cut at {nominal} does not advance past {prev}")
        start = char_start(data, max(end - context_bytes, 0))  # <= prev: the previous end was a boundary
        cuts.append((start, prev, end))
        prev, nominal = end, end + stride_bytes
    return cuts


def document_tokens(tokenizer, texts, lengths: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each document tokenized once: (ids, exclusive byte end of each token) as int64 arrays; ``lengths``
    is ``token_byte_lengths(tokenizer)``."""
    out = []
    for enc in tokenizer.encode_batch(list(texts), add_special_tokens=False):
        ids = np.asarray(enc.ids, dtype=np.int64)
        out.append((ids, np.cumsum(lengths[ids])))
    return out


def stacked_tokens(tokenizer, texts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every document tokenized once, stacked: (all ids, each document's first token index then the
    total, the byte length of every id), the layout ``byteword.encode`` stores."""
    from byteword.tokenization import token_byte_lengths

    lengths = token_byte_lengths(tokenizer)
    docs = document_tokens(tokenizer, texts, lengths)
    ids = np.concatenate([i for i, _ in docs]) if docs else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum([len(i) for i, _ in docs])]).astype(np.int64)
    return ids, starts, lengths


def tokens_inside(ids: np.ndarray, starts: np.ndarray, ends: np.ndarray, start: int, end: int):
    """The tokens lying wholly inside bytes [start, end) of their document (``starts`` and ``ends`` their
    byte offsets, exclusive ends), ends relative to start."""
    lo = int(np.searchsorted(starts, start, side="left"))  # first token starting at >= start
    hi = int(np.searchsorted(ends, end, side="right"))  # tokens ending at <= end
    return tuple(int(i) for i in ids[lo:hi]), tuple(int(e) - start for e in ends[lo:hi])


def token_reader(tokenizer):
    """text -> (ids, starts, ends) of its tokens as int64 arrays (byte offsets, exclusive ends): a byte-level
    BPE ``tokenizers.Tokenizer``'s, whose tokens tile the bytes, or the ``byte_tokens`` of a tokenizer that
    finds its tokens' bytes itself (a pretrained model's own, ``byteword.models.pretrained``)."""
    if hasattr(tokenizer, "byte_tokens"):
        return tokenizer.byte_tokens
    from byteword.tokenization import token_byte_lengths

    lengths = token_byte_lengths(tokenizer)

    def read(text: str):
        ids, ends = document_tokens(tokenizer, [text], lengths)[0]
        return ids, ends - lengths[ids], ends

    return read


def eval_windows(texts, context_bytes: int, stride_bytes: int, max_bytes: int | None = None,
                 tokenizer=None, max_doc_bytes: int | None = None) -> list[Window]:
    """The evaluation windows of documents in order (``window_cuts``), stopping before the document that
    would take the scored bytes past ``max_bytes`` (None: every document, the whole split); with
    ``max_doc_bytes``, each document is first cut to its first bytes (at a character). With a BPE
    tokenizer each document is tokenized once and every window carries its tokens; a token is scored in
    the span holding its last byte, and the window reaches back to that token's first byte when it
    starts before the window (only where the context is shorter than a token)."""
    texts = list(texts)
    out, total = [], 0
    read = token_reader(tokenizer) if tokenizer is not None else None
    for d, text in enumerate(texts):
        data = text.encode("utf-8")
        if max_doc_bytes is not None and len(data) > max_doc_bytes:
            data = data[: char_floor(data, max_doc_bytes)]
            text = data.decode("utf-8")
        if max_bytes is not None and total + len(data) > max_bytes and out:
            break
        tokens = read(text) if read is not None else None  # (ids, starts, ends)
        for start, score_from, end in window_cuts(len(data), data, context_bytes, stride_bytes):
            ids = ends = None
            if tokens is not None:
                # the first token scored here may start before the window (with little context, or none):
                # the window then reaches back to its first byte, read as context
                first = int(np.searchsorted(tokens[2], score_from, side="right"))
                if first < len(tokens[2]):
                    start = min(start, int(tokens[1][first]))
                ids, ends = tokens_inside(*tokens, start, end)
            out.append(Window(data[start:end], score_from - start, d, start, ids, ends))
        total += len(data)
    return out


class WindowSampler:
    """Random training windows: each starts at a random character boundary of a training document and
    holds up to ``context_bytes`` bytes of that document alone, the very windows ``eval_windows`` scores
    from their first byte. A document longer than the context is drawn in proportion to its count of
    full-window starts; a shorter one is one window (its whole text), as evaluation reads it.

    The split is held as one uint8 stream with document byte ranges (documents are never crossed);
    with a BPE tokenizer, each document's tokens (ids and byte ends), as evaluation tokenizes it. The
    sampler's state is a plain dict (JSON-serialisable) for exact resume."""

    def __init__(self, texts, context_bytes: int, seed: int, tokenizer=None):
        texts = list(texts)
        pieces = [t.encode("utf-8") for t in texts]
        lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        data = np.frombuffer(b"".join(pieces), dtype=np.uint8)
        tokens = stacked_tokens(tokenizer, texts) if tokenizer is not None else None
        self._setup(data, starts[:-1], starts[1:], context_bytes, seed, tokens)

    @classmethod
    def from_encoded(cls, encoded: dict, context_bytes: int, seed: int, tokenizer=None) -> "WindowSampler":
        """The same sampler over a split encoded by ``byteword.encode`` (memory-mapped, not re-split)."""
        from byteword.encode import SEPARATOR

        doc_starts = np.asarray(encoded["doc_starts"])  # (n_docs + 1,); the separator opens documents 1..
        begins = doc_starts[:-1] + np.where(np.arange(len(doc_starts) - 1) > 0, len(SEPARATOR), 0)
        tokens = None
        if tokenizer is not None and "ids" in encoded:
            from byteword.tokenization import token_byte_lengths

            tokens = (encoded["ids"], np.asarray(encoded["token_starts"]), token_byte_lengths(tokenizer))
        elif tokenizer is not None:  # encoded without this tokenizer: tokenize each document once, here
            texts = [bytes(encoded["bytes"][b:e]).decode("utf-8") for b, e in zip(begins, doc_starts[1:])]
            tokens = stacked_tokens(tokenizer, texts)
        sampler = cls.__new__(cls)
        sampler._setup(encoded["bytes"], begins, doc_starts[1:], context_bytes, seed, tokens)  # no copy of the data
        return sampler

    def _setup(self, data: np.ndarray, begins: np.ndarray, ends: np.ndarray, context_bytes: int, seed: int,
               tokens=None) -> None:
        self.data = data  # (n_bytes,) uint8
        self.begins, self.ends = begins.astype(np.int64), ends.astype(np.int64)  # (n_docs,) each document's bytes
        self.context_bytes = context_bytes
        self.rng = np.random.default_rng(seed)
        self.tokens = tokens  # (ids, token_starts, token byte lengths by id) or None
        sizes = self.ends - self.begins
        if len(sizes) == 0 or sizes.max() == 0:
            raise ValueError("training split holds no text to draw windows from")
        # (n_docs + 1,) cumulative count of window starts: documents longer than the context have
        # size - context + 1 full-window starts, shorter ones (if not empty) one
        self.cum_starts = np.concatenate([[0], np.cumsum(np.where(sizes > context_bytes, sizes - context_bytes + 1,
                                                                  (sizes > 0).astype(np.int64)))])

    def _doc_tokens(self, d: int):
        """Document d's (ids, byte starts, exclusive byte ends), the ends summed here: one document at a time
        keeps the memory of a corpus of gigabytes at its ids."""
        ids, token_starts, lengths = self.tokens
        doc_ids = np.asarray(ids[token_starts[d]:token_starts[d + 1]], dtype=np.int64)
        ends = np.cumsum(lengths[doc_ids])
        return doc_ids, ends - lengths[doc_ids], ends

    def sample(self, batch_size: int) -> list[Window]:
        picks = self.rng.integers(0, self.cum_starts[-1], size=batch_size)
        docs = np.searchsorted(self.cum_starts, picks, side="right") - 1
        out = []
        for u, d in zip(picks, docs):
            begin, doc_end = int(self.begins[d]), int(self.ends[d])
            s = begin + int(u - self.cum_starts[d])
            doc = self.data[begin:doc_end]
            s = begin + char_start(doc, s - begin)
            e = min(s + self.context_bytes, doc_end)
            e = begin + (doc_end - begin if e == doc_end else char_floor(doc, e - begin))
            ids = ends = None
            if self.tokens is not None:  # the document's tokens inside the window; the window shrinks to them
                lengths = self.tokens[2]
                ids, ends = tokens_inside(*self._doc_tokens(int(d)), s - begin, e - begin)
                if ids:
                    first = ends[0] - int(lengths[ids[0]])
                    s, e, ends = s + first, s + ends[-1], tuple(x - first for x in ends)
            out.append(Window(self.data[s:e].tobytes(), 0, int(d), s - begin, ids, ends))
        return out

    def with_seed(self, seed: int) -> "WindowSampler":
        """The same windows of the same split, drawn from a generator of another seed (the data is shared)."""
        other = copy.copy(self)
        other.rng = np.random.default_rng(seed)
        return other

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def seen_windows(texts, context_bytes: int, batch_size: int, train_bytes: int, seed: int, tokenizer=None) -> list[Window]:
    """The training windows a run of ``seed`` reads, in order: the sampler replayed batch by batch until
    ``train_bytes`` bytes are drawn, as the training loop draws them (so baselines and token counts can
    be taken on exactly the bytes the models saw)."""
    sampler, out, total = WindowSampler(texts, context_bytes, seed, tokenizer), [], 0
    while total < train_bytes:
        batch = sampler.sample(batch_size)
        out.extend(batch)
        total += sum(len(w.data) for w in batch)
    return out


def pad_rows(rows: list[list[int]], value: int, width: int | None = None) -> torch.Tensor:
    """(B, width) long tensor of ``rows``, each filled out with ``value`` (width: the longest row's, at least 1)."""
    width = width or max((len(r) for r in rows), default=0) or 1
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def capacity(n: int) -> int:
    """The size a batch dimension of n is padded to for a compiled step, so that the step compiles once per
    capacity rather than once per size: n itself up to 8, above that the next multiple of an eighth of the
    power of two at or above n (17..32 -> 20, 24, 28, 32): at most four capacities per doubling, each
    less than a quarter larger than what it holds."""
    if n < 1:
        raise ValueError(f"a batch dimension must hold at least one element, got {n}")
    step = max(1, 2 ** ((n - 1).bit_length() - 3))
    return -(-n // step) * step


def padded_to(x: torch.Tensor, size: int, value=0) -> torch.Tensor:
    """(B, n) -> (B, size), ``value`` in the new columns (size >= n)."""
    return torch.nn.functional.pad(x, (0, size - x.shape[1]), value=value)


def byte_rows(rows: list[bytes]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, W) int64 bytes of ``rows``, 0-padded to the longest (W at least 1), and (B, W) bool, True at real bytes."""
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    out = np.zeros((len(rows), max(int(lengths.max(initial=0)), 1)), dtype=np.uint8)
    for i, r in enumerate(rows):  # one copy per row, not a Python int per byte
        out[i, : len(r)] = np.frombuffer(r, dtype=np.uint8)
    x = torch.from_numpy(out).long()
    return x, torch.arange(x.shape[1])[None, :] < torch.from_numpy(lengths)[:, None]


def _word_table(windows: list[Window], max_word_bytes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each window's words (``split_words``) as their (B, n) byte lengths and start offsets, zero-padded.
    The words tile the window, so word j of a window is its bytes from the sum of the earlier lengths on
    (the model reads them from ``Batch.bytes``). All windows are split in one pass (``words_of_texts``)."""
    lengths, counts = words_of_texts([x.data.decode("utf-8") for x in windows], max_word_bytes)
    sizes = np.array([len(x.data) for x in windows], dtype=np.int64)
    row = np.repeat(np.arange(len(windows)), counts)  # (words,) the window of each word
    col = np.arange(len(lengths)) - np.repeat(np.cumsum(counts) - counts, counts)  # its place in the window
    # each word's first byte with the windows laid end to end, less the bytes of the windows before its own
    starts = np.cumsum(lengths) - lengths - np.repeat(np.cumsum(sizes) - sizes, counts)
    word_len = np.zeros((len(windows), int(counts.max(initial=0))), dtype=np.int64)
    word_start = np.zeros_like(word_len)
    word_len[row, col], word_start[row, col] = lengths, starts
    return torch.from_numpy(word_len), torch.from_numpy(word_start)


def with_tokens(batch: Batch, ids: list[list[int]], ends: list[list[int]], start_id: int) -> Batch:
    """``batch`` as kind "bpe" from each window's token ids and the window index of each token's last byte:
    every token predicted, the first from ``start_id``; padding targets are -100."""
    batch.ids = pad_rows([[start_id] + r[:-1] for r in ids], start_id)
    batch.targets = pad_rows(ids, -100)
    batch.target_mask = batch.targets >= 0
    batch.token_end = pad_rows(ends, 0)
    return batch


def as_window(w) -> Window:
    """A Window as is, or bytes read as a window scored from its first byte (tokenized on its own)."""
    return w if isinstance(w, Window) else Window(bytes(w))


def collate(windows, kind: str, tokenizer=None, max_word_bytes: int = 16) -> Batch:
    """Build the batch a family of ``kind`` reads from windows (``Window`` objects, or plain bytes scored
    from their first byte). ``score_mask`` marks each window's scored span."""
    windows = [as_window(w) for w in windows]
    batch = Batch(*byte_rows([w.data for w in windows]))
    positions = torch.arange(batch.bytes.shape[1])[None, :]
    batch.score_mask = batch.byte_mask & (positions >= torch.tensor([w.score_from for w in windows])[:, None])
    if kind == "bytes":
        return batch
    if kind == "bpe":
        from byteword.tokenization import bos_id, token_byte_spans

        bos = bos_id(tokenizer)
        ids, ends = [], []
        for w in windows:
            if w.token_ids is not None:  # the document's own tokens, cut to the window (may end mid-character)
                ids.append(list(w.token_ids))
                ends.append([e - 1 for e in w.token_ends])
            else:
                t = w.data.decode("utf-8")
                ids.append(tokenizer.encode(t, add_special_tokens=False).ids)
                ends.append([end - 1 for _, end in token_byte_spans(tokenizer, t)])
        return with_tokens(batch, ids, ends, bos)
    if kind == "words":
        batch.word_len, batch.word_start = _word_table(windows, max_word_bytes)
        return batch
    raise ValueError(f"unknown batch kind {kind!r}")
