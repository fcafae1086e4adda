"""Scoring one model on text in several languages: BPB with a bootstrap interval over documents and
bytes per chunk (tokens, words, patches, SpaceByte global positions or learned chunks), so the
cost of another script shows up both in bits and in how often the model's upper levels run.

The model's own corpus test split stands for its language; other languages come from
evaluation-only sources (e.g. the Bulgarian articles in gensim's test data), cut into the same
windows as the test split (``byteword.data.eval_windows``); intervals resample documents."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from byteword.corpus import corpus_config_from_dict, load_documents
from byteword.data import eval_windows
from byteword.evaluation.bootstrap import ratio_ci
from byteword.evaluation.bpb import interval_clusters, score_windows


def language_texts(sources: dict[str, dict]) -> dict[str, list[str]]:
    """{language: documents} for evaluation-only sources given as {language: {source: {...}}}."""
    return {lang: load_documents(corpus_config_from_dict(lang, {**entry, "language": lang}))["text"].tolist()
            for lang, entry in sources.items()}


def evaluation_texts(own: str, test_texts: list[str], sources: dict[str, dict]) -> dict[str, list[str]]:
    """{language: documents}: the corpus's own test split under its language ``own``, then every
    evaluation-only source; a source listed under ``own`` is refused (the test split stands for it)."""
    if own in sources:
        raise ValueError(f"evaluation.languages names {own!r}, the language of the corpus itself, whose test split "
                         f"already stands for it; drop that entry or give the corpus another language")
    return {own: list(test_texts), **language_texts(sources)}


def language_windows(texts: dict[str, list[str]], context_bytes: int, stride_bytes: int, max_bytes: int | None,
                     tokenizer=None) -> dict[str, tuple[list, np.ndarray, str]]:
    """{language: (its evaluation windows, the cluster of each window, the cluster's name)}: the clusters
    are documents, or blocks of a few (``bpb.interval_clusters``); the same for every model and baseline."""
    out = {}
    for lang, docs in texts.items():
        windows = eval_windows(docs, context_bytes, stride_bytes, max_bytes, tokenizer)
        if not windows:
            raise ValueError(f"language {lang!r}: its text is empty")
        out[lang] = (windows, *interval_clusters(windows))
    return out


def score_languages(model, texts: dict[str, list[str]], context_bytes: int, stride_bytes: int, max_bytes: int | None,
                    tokenizer=None, batch_size: int = 16, n_resamples: int = 1000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per language: metric "bpb" in ``value``, its interval (over documents, or blocks of a few), bytes,
    windows, documents and chunks; and the per-window rows (language, window, doc = its cluster, nll_nats,
    n_bytes) that the summary resamples."""
    rows, per_window = [], []
    for lang, (windows, clusters, unit) in language_windows(texts, context_bytes, stride_bytes, max_bytes,
                                                            tokenizer).items():
        scores = score_windows(model, windows, tokenizer, batch_size=batch_size)
        low, high = ratio_ci(scores.nll, scores.n_bytes, clusters, n_resamples=n_resamples)
        n_bytes, n_chunks = int(scores.n_bytes.sum()), int(scores.n_chunks.sum())
        rows.append({"language": lang, "metric": "bpb", "value": scores.bpb, "ci_low": low, "ci_high": high, "n_bytes": n_bytes,
                     "n_windows": len(windows), "n_docs": len(set(scores.doc.tolist())), "interval_unit": unit,
                     "n_chunks": n_chunks, "bytes_per_chunk": n_bytes / n_chunks if n_chunks else math.nan,
                     "chunks_per_byte": n_chunks / n_bytes if n_chunks else math.nan})
        per_window.append(scores.rows(doc=clusters, language=lang))
    return pd.DataFrame(rows), pd.concat(per_window, ignore_index=True)
