"""A byte n-gram language model with interpolated modified Kneser–Ney smoothing, counted with numpy.

The baseline every byte-level model must beat: how far does counting get on the very bytes the
models were trained on, scored on the very windows they are scored on (``byteword.data.Window``).

What is computed (Chen & Goodman 1999, "interpolated modified Kneser–Ney"; KenLM's conventions):

    p_n(w | h) = max(a_n(h w) - D_n(a_n(h w)), 0) / A_n(h)  +  gamma_n(h) * p_{n-1}(w | h')
    gamma_n(h) = (D_n1 N1(h) + D_n2 N2(h) + D_n3 N3+(h)) / A_n(h),   A_n(h) = sum_w a_n(h w)
    p_0(w)     = 1 / 256                                  (the uniform floor over the 256 bytes)

``h`` holds the n-1 symbols before ``w``, ``h'`` drops its farthest symbol; a context never seen
at order n passes p_{n-1} on unchanged. ``a_n`` is the raw count at the model's highest order and
the Kneser–Ney continuation count (the number of distinct symbols seen before ``h w``) below it,
except for n-grams that start at a chunk start, which keep raw counts (nothing precedes them).
Three discounts per order, D_n1, D_n2, D_n3+, come from that order's counts of counts
(D_k = k - (k+1) Y n_{k+1} / n_k with Y = n_1 / (n_1 + 2 n_2); 0.5, 1, 1.5 when some n_k is 0),
clipped into [0.05, k] so every context hands some mass down: with the uniform floor, every byte gets a probability > 0 and the
256 probabilities of every context sum to 1.

Chunk starts: each chunk (a training window, or a document) is padded in front with ``order - 1``
copies of a beginning-of-sequence symbol BOS = 256, so "this is the first byte" is itself a
context. Scoring pads every window the same way, and a byte's context is only the bytes before it
*inside its window* (at most ``order - 1`` of them): the n-gram sees exactly the context the
models see. N-grams never cross chunk boundaries. BOS is never predicted.

Contexts are integers: symbol j places back occupies bits 9 (j-1) .. 9 j - 1, so the nearest
symbol is lowest and a shorter context is a bit mask of a longer one; 7 symbols fill 63 bits, hence
orders 1..8. Counting is ``np.unique`` over such keys (a few sorts of the data per order), and
scoring is ``np.searchsorted`` into the sorted tables — no per-byte Python loop anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOS = 256  # the beginning-of-sequence symbol padded before every chunk and every scored window
BITS = 9  # bits per symbol in a context key: 257 symbols
MAX_ORDER = 8  # 7 context symbols * 9 bits = 63 bits, the most an int64 holds
MIN_DISCOUNT = 0.05
DEFAULT_DISCOUNTS = (0.5, 1.0, 1.5)  # when counts of counts are too few to estimate them
LN2 = float(np.log(2.0))


@dataclass(frozen=True)
class _Table:
    """The counts of one order n, sorted for lookup: contexts (n-1 symbols) and (context, byte) pairs."""

    ctx_keys: np.ndarray  # (C,) int64 sorted unique context keys
    pair_keys: np.ndarray  # (P,) int64 sorted: context index * 256 + byte
    pair_prob: np.ndarray  # (P,) float64 discounted count / A(h): the pair's own share
    gamma: np.ndarray  # (C,) float64 mass each context hands to the order below
    discounts: tuple[float, float, float]  # D1, D2, D3+


def _padded_stream(chunks: list[bytes], pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All chunks laid end to end, each preceded by ``pad`` BOS symbols.

    Returns sym (L,) int64 symbols, pos (n_bytes,) the stream index of every real byte in order,
    and chunk (n_bytes,) the chunk each byte belongs to."""
    lengths = np.fromiter((len(c) for c in chunks), dtype=np.int64, count=len(chunks))
    data = np.frombuffer(b"".join(chunks), dtype=np.uint8).astype(np.int64)
    chunk = np.repeat(np.arange(len(chunks), dtype=np.int64), lengths)
    pos = np.arange(len(data), dtype=np.int64) + pad * (chunk + 1)  # every chunk shifts by its own padding
    sym = np.full(len(data) + pad * len(chunks), BOS, dtype=np.int64)
    sym[pos] = data
    return sym, pos, chunk


def _context_keys(sym: np.ndarray, pos: np.ndarray, order: int):
    """Yield, for n = 1..order, the (len(pos),) int64 keys of the n-1 symbols before each position."""
    key = np.zeros(len(pos), dtype=np.int64)
    for n in range(1, order + 1):
        if n > 1:  # add the symbol n-1 places back in the next 9 bits
            key = key | (sym[pos - (n - 1)] << (BITS * (n - 2)))
        yield n, key


def _discounts(counts: np.ndarray) -> tuple[float, float, float]:
    """Modified KN discounts D1, D2, D3+ from the counts of counts n_1..n_4 of one order's counts."""
    n = [int(np.count_nonzero(counts == k)) for k in (1, 2, 3, 4)]
    if min(n) == 0:  # too few counts to estimate from (tiny data, or the 256-byte unigram)
        return DEFAULT_DISCOUNTS
    y = n[0] / (n[0] + 2 * n[1])
    return tuple(float(np.clip(k - (k + 1) * y * n[k] / n[k - 1], MIN_DISCOUNT, k)) for k in (1, 2, 3))


def _table(ctx_keys: np.ndarray, pair_keys: np.ndarray, counts: np.ndarray) -> _Table:
    """Discount one order's counts (aligned with the sorted ``pair_keys``) into lookup arrays."""
    d = _discounts(counts)
    ctx = pair_keys >> 8  # (P,) context index of each pair
    per_pair = np.where(counts == 1, d[0], np.where(counts == 2, d[1], d[2]))  # (P,) D(a)
    total = np.bincount(ctx, weights=counts, minlength=len(ctx_keys))  # (C,) A(h)
    handed = np.bincount(ctx, weights=per_pair, minlength=len(ctx_keys))  # (C,) sum of D over seen bytes
    return _Table(ctx_keys, pair_keys, (counts - per_pair) / total[ctx], handed / total, d)


def _raw_counts(key: np.ndarray, byte: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted unique contexts, sorted unique (context index, byte) keys and their raw counts."""
    ctx_keys, ctx_index = np.unique(key, return_inverse=True)
    pair_keys, counts = np.unique(ctx_index.astype(np.int64) * 256 + byte, return_counts=True)
    return ctx_keys, pair_keys, counts.astype(np.int64)


def _lookup(keys: np.ndarray, sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, found) of each key in a sorted array; index is clipped so it can always be used."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    i = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return i, sorted_keys[i] == keys


def _continuation_counts(lower: tuple, upper: tuple, n: int) -> np.ndarray:
    """KN counts of order n aligned with its raw pairs ``lower``: each distinct (n+1)-gram of ``upper``
    adds one to the n-gram it ends with; n-grams starting with BOS keep their raw count."""
    lo_ctx, lo_pairs, lo_counts = lower
    up_ctx, up_pairs, _ = upper
    suffix = up_ctx[up_pairs >> 8] & ((1 << (BITS * (n - 1))) - 1)  # (P_up,) drop the farthest symbol
    ci, _ = _lookup(suffix, lo_ctx)  # every suffix was seen: each byte has a full padded context
    pi, _ = _lookup(ci * 256 + (up_pairs & 255), lo_pairs)
    cont = np.bincount(pi, minlength=len(lo_pairs)).astype(np.int64)
    if n == 1:
        return cont
    starts_at_bos = (lo_ctx[lo_pairs >> 8] >> (BITS * (n - 2))) == BOS  # farthest context symbol is BOS
    return np.where(starts_at_bos, lo_counts, cont)


class NgramModel:
    """Interpolated modified Kneser–Ney byte model of one order (see the module docstring)."""

    def __init__(self, order: int, raw: list[_Table], kn: list[_Table]):
        self.order = order
        self._raw, self._kn = raw, kn  # per order 1..fitted order: raw-count and KN-count tables
        self.levels = kn[: order - 1] + [raw[order - 1]]  # the tables this model interpolates, order 1 first

    @classmethod
    def fit(cls, chunks: list[bytes], order: int) -> "NgramModel":
        """Count every order 1..``order`` on ``chunks`` (each BOS-padded; n-grams never cross chunks)."""
        if not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be between 1 and {MAX_ORDER}, got {order}")
        sym, pos, _ = _padded_stream([bytes(c) for c in chunks], order - 1)
        byte = sym[pos]  # (n_bytes,) the predicted bytes
        raw_counts = [_raw_counts(key, byte) for _, key in _context_keys(sym, pos, order)]
        raw = [_table(*c) for c in raw_counts]
        kn = [_table(raw_counts[n - 1][0], raw_counts[n - 1][1],
                     _continuation_counts(raw_counts[n - 1], raw_counts[n], n)) for n in range(1, order)]
        return cls(order, raw, kn)

    def truncated(self, order: int) -> "NgramModel":
        """The model of a lower ``order`` from the same counts (what ``fit`` at that order returns)."""
        if not 1 <= order <= len(self._raw):
            raise ValueError(f"order must be between 1 and {len(self._raw)}, got {order}")
        return NgramModel(order, self._raw, self._kn)

    def _probs(self, sym: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """(len(pos),) probability of sym[pos] given the up to order-1 symbols before it in ``sym``."""
        byte = sym[pos]
        p = np.full(len(pos), 1.0 / 256)
        for n, key in _context_keys(sym, pos, self.order):
            t = self.levels[n - 1]
            ci, seen = _lookup(key, t.ctx_keys)
            pi, pair_seen = _lookup(ci * 256 + byte, t.pair_keys)
            own = np.where(seen & pair_seen, t.pair_prob[pi], 0.0)
            p = np.where(seen, own + t.gamma[ci] * p, p)  # an unseen context passes p_{n-1} on
        return p

    def distribution(self, context: bytes) -> np.ndarray:
        """(256,) next-byte probabilities after ``context``, read as the start of a window: its last
        order-1 bytes count, and a shorter context is BOS-padded as a window start is."""
        pad = self.order - 1
        prefix = np.frombuffer(bytes(context), dtype=np.uint8)[max(len(context) - pad, 0):]  # at most pad bytes
        sym = np.concatenate([np.full(pad, BOS), prefix.astype(np.int64)])
        sym = np.tile(np.append(sym, 0), (256, 1))  # (256, L+1): every candidate byte after the context
        sym[:, -1] = np.arange(256)
        width = sym.shape[1]
        return self._probs(sym.ravel(), np.arange(1, 257) * width - 1)

    def logprobs(self, window_data: bytes, score_from: int = 0) -> np.ndarray:
        """(len(window_data) - score_from,) natural-log probabilities of the scored bytes of one window,
        each given the bytes before it inside the window."""
        sym, pos, _ = _padded_stream([bytes(window_data)], self.order - 1)
        return np.log(self._probs(sym, pos[score_from:]))

    def window_nll(self, windows, max_bytes_per_batch: int = 1 << 20) -> np.ndarray:
        """(len(windows),) NLL in nats of each window's scored span (``Window.data[score_from:]``),
        computed over batches of windows holding about ``max_bytes_per_batch`` bytes."""
        out = np.zeros(len(windows))
        start = 0
        while start < len(windows):
            stop, size = start, 0
            while stop < len(windows) and (size == 0 or size + len(windows[stop].data) <= max_bytes_per_batch):
                size += len(windows[stop].data)
                stop += 1
            out[start:stop] = self._batch_nll(windows[start:stop])
            start = stop
        return out

    def _batch_nll(self, windows) -> np.ndarray:
        sym, pos, chunk = _padded_stream([w.data for w in windows], self.order - 1)
        first = np.concatenate([[0], np.cumsum([len(w.data) for w in windows])])[:-1]  # (W,) first byte of each
        in_window = np.arange(len(pos)) - first[chunk]  # (n_bytes,) index of each byte inside its window
        scored = in_window >= np.array([w.score_from for w in windows], dtype=np.int64)[chunk]
        nll = -np.log(self._probs(sym, pos[scored]))
        return np.bincount(chunk[scored], weights=nll, minlength=len(windows))

    def bpb(self, windows) -> float:
        """Bits per scored byte over ``windows``."""
        n_bytes = sum(w.n_scored for w in windows)
        return float(self.window_nll(windows).sum() / (LN2 * n_bytes))


def choose_order(train_chunks: list[bytes], valid_windows, orders=range(1, MAX_ORDER + 1)
                 ) -> tuple[NgramModel, dict[int, float]]:
    """Count once at the highest of ``orders`` and score each order on ``valid_windows``. Returns the
    model of the order with the lowest validation BPB (ties: the lower order) and {order: BPB}."""
    orders = sorted(set(int(o) for o in orders))
    if sum(w.n_scored for w in valid_windows) == 0:
        raise ValueError("choose_order needs validation windows with scored bytes; the validation split is empty")
    full = NgramModel.fit(train_chunks, orders[-1])
    bpbs = {n: full.truncated(n).bpb(valid_windows) for n in orders}
    best = min(orders, key=lambda n: (bpbs[n], n))
    return full.truncated(best), bpbs
