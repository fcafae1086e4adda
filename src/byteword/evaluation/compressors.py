"""Compressor baselines, two ways: on the whole text, and conditioned on each window's context.

Whole text (``compressor_bpb``, ``ppmd_bpb``): gzip, bz2, lzma and PPMd at their strongest settings
on one long string. These frame every BPB table (a language model worse than ``xz -9e`` on the same
bytes has learnt little), but they are *not* comparable with a model's windowed BPB: a compressor
reading the whole text remembers far more than one window of context. They are labelled "whole
text". Sizes include each format's headers, negligible at the megabyte scale they are run at.

Conditioned (``conditioned_bits``): a compressor C scores a window's span given its context as

    bits(span | context) = 8 * (len(C(context + span)) - len(C(context)))

so it reads exactly the context a model reads (``byteword.data.Window``: ``data[:score_from]``) and
pays for exactly the bytes a model is scored on. Headers and end marks cancel in the difference.
Each call is granular to whole output bytes (and deflate may choose different blocks for the two
inputs), so one window's figure is noisy by a few bits and can even be negative; only the sum over
many windows is meaningful, and that is what a BPB over windows is. Compressors:

- ``gzip_ctx``: raw deflate at level 9 (gzip's coder without its header).
- ``lzma_ctx``: LZMA2 in ``FORMAT_RAW``, preset 9, with a dictionary of the smallest power of two
  >= max(4 KiB, longest window) (it covers every window whole; larger ones cost ~10x more per call).
- ``ppmd_ctx``: PPMd variant I (Ppmd8) of order 6 with 16 MiB of model memory, as ``ppmd_bpb``.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib

import numpy as np

# (name, level, compress function); lzma's level 9 is run with PRESET_EXTREME, i.e. ``xz -9e``.
_COMPRESSORS = (
    ("gzip", 9, lambda data: gzip.compress(data, compresslevel=9, mtime=0)),
    ("bz2", 9, lambda data: bz2.compress(data, compresslevel=9)),
    ("lzma", 9, lambda data: lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)),
)
PPMD_ORDER = 6  # PPMd's model order: longer contexts gain < 0.01 bit per byte on Wikipedia text
PPMD_MEMORY = 16 << 20  # bytes of model memory: never exhausted by the few MB compressed here


def _row(name: str, level: int, data: bytes, size: int) -> dict:
    return {"compressor": name, "level": level, "n_bytes": len(data), "compressed_bytes": size,
            "bpb": 8.0 * size / len(data)}


def compressor_bpb(data: bytes) -> list[dict]:
    """One row per compressor: compressor, level, n_bytes, compressed_bytes, bpb = 8 * compressed / n_bytes."""
    if len(data) == 0:
        raise ValueError("compressor_bpb needs non-empty data")
    return [_row(name, level, data, len(compress(data))) for name, level, compress in _COMPRESSORS]


def ppmd(data: bytes, order: int = PPMD_ORDER, memory: int = PPMD_MEMORY) -> bytes:
    """PPMd variant I (``pyppmd.Ppmd8Encoder``) of ``data``, end mark included."""
    import pyppmd

    return pyppmd.compress(data, max_order=order, mem_size=memory, variant="I")


def ppmd_bpb(data: bytes, order: int = PPMD_ORDER, memory: int = PPMD_MEMORY) -> dict:
    """The whole-text PPMd row in ``compressor_bpb``'s format (``level`` holds the model order)."""
    if len(data) == 0:
        raise ValueError("ppmd_bpb needs non-empty data")
    return _row("ppmd", order, data, len(ppmd(data, order, memory)))


def deflate(data: bytes) -> bytes:
    """Raw deflate at level 9: gzip's compressed stream without its header and trailer."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def lzma_raw(dict_size: int):
    """An LZMA2 ``FORMAT_RAW`` compressor (preset 9) with a ``dict_size``-byte dictionary."""
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": dict_size}]
    return lambda data: lzma.compress(data, format=lzma.FORMAT_RAW, filters=filters)


def _lzma_for(windows) -> callable:
    longest = max((len(w.data) for w in windows), default=0)
    return lzma_raw(1 << max(12, (longest - 1).bit_length()))


CONDITIONED = {  # name -> (windows -> compress function)
    "gzip_ctx": lambda windows: deflate,
    "lzma_ctx": _lzma_for,
    "ppmd_ctx": lambda windows: ppmd,
}


def conditioned_bits(windows, compressor: str) -> np.ndarray:
    """(len(windows),) int64 bits of each window's scored span given its context, by the named
    compressor of ``CONDITIONED``: 8 * (len(C(data)) - len(C(data[:score_from])))."""
    compress = CONDITIONED[compressor](windows)
    empty = len(compress(b""))  # the first window of a document has no context: every call needs C(b"")
    out = np.zeros(len(windows), dtype=np.int64)
    for i, w in enumerate(windows):
        context = len(compress(w.data[: w.score_from])) if w.score_from else empty
        out[i] = 8 * (len(compress(w.data)) - context)
    return out
