"""Word vectors as long tables (one row per word, reading and vector) and what reads them.

A vectors table has columns word, dim and vector (float32 arrays; written with fixed-size lists when
every row has the same width); a readings table adds the lexicon's columns and reading, known."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

LETTERS_ONLY = re.compile(r"[^\W\d_]+")  # a word of letters alone, in any script


def readings_table(lexicon: pd.DataFrame, readings: dict[str, np.ndarray], known=True) -> pd.DataFrame:
    """The lexicon's rows once per reading (in the order of ``readings``), with columns reading, dim,
    known (the word has a vector of its own: True for models, which build every word from its bytes or
    tokens) and vector (float32 arrays, one per row)."""
    parts = [lexicon.assign(reading=reading, dim=X.shape[1], known=known, vector=list(X.astype(np.float32)))
             for reading, X in readings.items()]
    return pd.concat(parts, ignore_index=True)


def vector_sizes(table: pd.DataFrame) -> dict[str, int]:
    """``write_parquet``'s fixed_size_lists for a vectors table: {"vector": dim} when every row has the same
    dim, else {} (readings of different widths are stored as plain lists)."""
    dims = table["vector"].map(len).unique()
    return {"vector": int(dims[0])} if len(dims) == 1 else {}


def vectors_from_table(df: pd.DataFrame) -> dict[str, np.ndarray]:
    return {w: np.asarray(v, dtype=np.float32) for w, v in zip(df["word"], df["vector"])}


def whiten(X: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centre and decorrelate rows (PCA whitening: unit variance along every principal direction)."""
    Xc = X - X.mean(0, keepdims=True)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    return (Xc @ vt.T / (s / np.sqrt(max(len(X) - 1, 1)) + eps)).astype(np.float32)
