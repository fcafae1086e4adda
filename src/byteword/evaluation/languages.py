"""Scoring one model on text in several languages: BPB with a bootstrap interval over windows and
bytes per chunk (tokens, words, patches, SpaceByte global positions or learned chunks), so the
cost of another script shows up both in bits and in how often the model's upper levels run.

The model's own corpus test split stands for its language; other languages come from
evaluation-only sources (e.g. the Bulgarian article in gensim's test data), cut into the same
word-aligned windows of ``context_bytes``."""

from __future__ import annotations

import math

import pandas as pd

from byteword.corpus import corpus_config_from_dict, load_documents
from byteword.data import document_windows
from byteword.evaluation.bpb import bootstrap_ci, score_windows


def language_texts(sources: dict[str, dict]) -> dict[str, list[str]]:
    """{language: documents} for evaluation-only sources given as {language: {source: {...}}}."""
    return {lang: load_documents(corpus_config_from_dict(lang, {**entry, "language": lang}))["text"].tolist()
            for lang, entry in sources.items()}


def score_languages(model, texts: dict[str, list[str]], context_bytes: int, max_bytes: int | None,
                    tokenizer=None, batch_size: int = 16, n_resamples: int = 1000) -> pd.DataFrame:
    """One row per language: BPB, its interval, bytes, windows and chunks the model drew."""
    rows = []
    for lang, docs in texts.items():
        windows = document_windows(docs, context_bytes, max_bytes)
        if not windows:
            raise ValueError(f"language {lang!r}: its text holds no window of at most {context_bytes} bytes")
        scores = score_windows(model, windows, tokenizer, batch_size=batch_size)
        low, high = bootstrap_ci(scores.nll, scores.n_bytes, n_resamples=n_resamples)
        n_bytes, n_chunks = int(scores.n_bytes.sum()), int(scores.n_chunks.sum())
        rows.append({"language": lang, "bpb": scores.bpb, "ci_low": low, "ci_high": high, "n_bytes": n_bytes,
                     "n_windows": len(windows), "n_chunks": n_chunks,
                     "bytes_per_chunk": n_bytes / n_chunks if n_chunks else math.nan,
                     "chunks_per_byte": n_chunks / n_bytes if n_chunks else math.nan})
    return pd.DataFrame(rows)
