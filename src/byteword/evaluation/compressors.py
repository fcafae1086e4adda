"""Compressor baselines: bits per byte of gzip, bz2 and lzma at their strongest settings.

These frame every BPB table: a language model worse than ``lzma -9e`` on the same split has
learnt little. Sizes include each format's headers (gzip, bz2 stream, xz container), which is
negligible at the megabyte scale the baselines are run at.
"""

from __future__ import annotations

import bz2
import gzip
import lzma

# (name, level, compress function); lzma's level 9 is run with PRESET_EXTREME, i.e. ``xz -9e``.
_COMPRESSORS = (
    ("gzip", 9, lambda data: gzip.compress(data, compresslevel=9, mtime=0)),
    ("bz2", 9, lambda data: bz2.compress(data, compresslevel=9)),
    ("lzma", 9, lambda data: lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)),
)


def compressor_bpb(data: bytes) -> list[dict]:
    """One row per compressor: compressor, level, n_bytes, compressed_bytes, bpb = 8 * compressed / n_bytes."""
    if len(data) == 0:
        raise ValueError("compressor_bpb needs non-empty data")
    rows = []
    for name, level, compress in _COMPRESSORS:
        size = len(compress(data))
        rows.append(
            {
                "compressor": name,
                "level": level,
                "n_bytes": len(data),
                "compressed_bytes": size,
                "bpb": 8.0 * size / len(data),
            }
        )
    return rows
