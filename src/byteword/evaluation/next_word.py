"""Next-word accuracy by how often the word was seen in training.

A position is a whole word (" " + letters/digits, at most ``max_word_bytes``) followed by a word
that starts with whitespace. Its window holds the same ``context_bytes - max_word_bytes - 1`` bytes
before the word for every model, then the word, then the one whitespace byte that ends it. As in
every evaluation, a BPE model reads its document's own tokens; its window runs on to the end of the
token that opens the next word (" the" after " cat"), so that a prediction starts at the ending byte.

Two scores per position, both under teacher forcing from the model's own greedy hits
(``ModelOutput.byte_hit`` / ``start_hit``):
- ``next_word``: greedy decoding would write exactly this word and then end it — every prediction
  inside the word is the top choice, and so is the first byte of what follows (a space). For BPE the
  following top token only has to start with that byte; for hierarchical models the word's
  end-of-word symbol, credited to that byte, must be the top choice too.
- ``word_bytes``: only the predictions credited to the word's bytes are top choices; nothing checks
  that the word ends. For hierarchical models the word's first byte carries the previous word's
  end-of-word symbol, the analogue of a byte model predicting the word's leading space.
- ``word_bpb``: bits per byte of the word given the context, by the chain rule: NLL of context + word
  minus NLL of the context, both read as unfinished text (no closing end-of-word). For hierarchical
  models this puts the previous word's end-of-word into the word's cost, the analogue of a byte
  model predicting the word's leading space; whether the word ends is left to ``next_word`` (a BPE
  model cannot score a lone ending space fairly: its tokens attach spaces to the following word).
  Softer than exact match, so it still separates models where exact match is zero, as it is for
  rare words at small scale.

Buckets partition words by their count in the training split: unseen, 1–10, 11–100, >100. Positions
are sampled per bucket (the rare buckets would otherwise be nearly empty), the same for every model."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pandas as pd
import torch

from byteword.data import Window, char_start, token_reader, tokens_inside
from byteword.evaluation.paired import bpb_tables, run_summary
from byteword.segment import split_words

BUCKETS = (("unseen", 0, 0), ("1-10", 1, 10), ("11-100", 11, 100), (">100", 101, None))
TARGET_WORD = re.compile(r" \w+")  # one space, then letters/digits: a whole word that a space ends


def bucket_of(count: int) -> str:
    for name, low, high in BUCKETS:
        if count >= low and (high is None or count <= high):
            return name
    raise ValueError(f"a word count cannot be negative, got {count}")


def word_counts(texts) -> Counter:
    """How often each word (without its leading whitespace, case kept) occurs in ``texts``."""
    counts = Counter()
    for text in texts:
        counts.update(w.lstrip() for w in split_words(text))
    return counts


def ends_word(following: str) -> bool:
    """The next word starts with one-byte whitespace (not e.g. a 3-byte thin space), so one byte ends it."""
    return following[:1].isspace() and following[:1].isascii()


def next_word_positions(texts, counts: Counter, context_bytes: int, max_word_bytes: int, per_bucket: int,
                        seed: int = 0, tokenizer=None) -> pd.DataFrame:
    """Up to ``per_bucket`` seeded positions per bucket: the window (a ``Window``), the word's [start, end)
    in it, the word, its training count and bucket."""
    context = context_bytes - max_word_bytes - 1
    if context < 1:
        raise ValueError(f"context_bytes {context_bytes} leaves no context before a word of {max_word_bytes} bytes")
    read = token_reader(tokenizer) if tokenizer is not None else None
    rows = []
    for d, text in enumerate(texts):
        data, words, offset = text.encode("utf-8"), split_words(text), 0
        tokens = read(text) if read is not None else None  # (ids, starts, ends)
        for w, following in zip(words, words[1:] + [""]):
            n = len(w.encode("utf-8"))
            if offset >= context and n <= max_word_bytes and TARGET_WORD.fullmatch(w) and ends_word(following):
                start = char_start(data, offset - context)
                count = counts.get(w[1:], 0)
                window = Window(data[start : offset + n + 1], 0, d, start)
                if tokens is not None:  # up to the end of the token that opens the next word
                    end = int(tokens[2][np.searchsorted(tokens[2], offset + n, side="right")])
                    ids, ends = tokens_inside(*tokens, start, end)
                    window = Window(data[start:end], 0, d, start, ids, ends)
                rows.append({"window": window, "start": offset - start,
                             "end": offset - start + n, "word": w[1:], "count": count, "bucket": bucket_of(count)})
            offset += n
    table = pd.DataFrame(rows, columns=["window", "start", "end", "word", "count", "bucket"])
    picked = [g.sample(min(len(g), per_bucket), random_state=seed) for _, g in table.groupby("bucket", sort=True)]
    return pd.concat(picked).sort_index().reset_index(drop=True) if picked else table


@torch.no_grad()
def score_positions(model, positions: pd.DataFrame, tokenizer=None, batch_size: int = 16) -> pd.DataFrame:
    """``positions`` plus bool columns next_word and word_bytes and the NLL (nats) of the word given its context."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    next_word, word_bytes, nll = [], [], []
    for s in range(0, len(positions), batch_size):
        chunk = positions.iloc[s : s + batch_size]
        out = model(model.collate(list(chunk.window), tokenizer).to(device))
        byte_hit, start_hit = out.byte_hit.cpu(), out.start_hit.cpu()
        # chain rule: NLL(word | context) = NLL(context + word) - NLL(context), each read as unfinished text
        with_word = [w.prefix(b) for w, b in zip(chunk.window, chunk.end)]
        context = [w.prefix(a) for w, a in zip(chunk.window, chunk.start)]
        nll.extend(_prefix_nll(model, with_word, tokenizer, device) - _prefix_nll(model, context, tokenizer, device))
        for row, (a, b) in enumerate(zip(chunk.start, chunk.end)):
            inside = bool(byte_hit[row, a:b].all())
            word_bytes.append(inside)
            # the ending byte: its own prediction starts with it, and what is credited to it hit (for
            # hierarchical models that is the word's end-of-word)
            next_word.append(inside and bool(start_hit[row, b]) and bool(byte_hit[row, b]))
    model.train(was_training)
    return positions.assign(next_word=next_word, word_bytes=word_bytes, nll=nll)


def _prefix_nll(model, windows, tokenizer, device) -> np.ndarray:
    """(n,) NLL in nats of each window read as the start of a longer text (no closing end-of-word: every
    family credits a prediction to the byte that completes it, so the sum is the prefix's log-probability)."""
    out = model(model.collate(windows, tokenizer).to(device))
    return -(out.byte_logprobs * out.byte_mask).sum(1).double().cpu().numpy()


METRICS = ("next_word", "word_bytes", "word_bpb")
POSITION_KEYS = ["model", "seed", "position", "doc", "bucket"]


def position_rows(scored: pd.DataFrame) -> pd.DataFrame:
    """Scored positions (``score_positions``) as plain rows: position, doc (the article, the unit that
    intervals resample), word, count, bucket, n_bytes (the word's), next_word, word_bytes, nll (nats)."""
    return pd.DataFrame({"position": np.arange(len(scored)), "doc": [w.doc for w in scored.window],
                         "word": scored.word.to_numpy(), "count": scored["count"].to_numpy(),
                         "bucket": scored.bucket.to_numpy(), "n_bytes": (scored.end - scored.start).to_numpy(),
                         "next_word": scored.next_word.to_numpy(), "word_bytes": scored.word_bytes.to_numpy(),
                         "nll": scored.nll.to_numpy(dtype=float)})


def ratio_rows(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric of per-position rows as the per-window rows of ``paired.bpb_tables``, which resamples
    articles and reports Σ nll_nats / (ln 2 · Σ n_bytes): the word's BPB is that ratio of its NLL and its
    bytes, and an accuracy is that ratio with nll_nats = hit · ln 2 and n_bytes = 1 per position."""
    if metric == "word_bpb":
        nll, n_bytes = rows["nll"].to_numpy(float), rows["n_bytes"].to_numpy()
    else:
        nll, n_bytes = rows[metric].to_numpy(float) * math.log(2), np.ones(len(rows), dtype=np.int64)
    return pd.DataFrame({"model": rows["model"].to_numpy(), "seed": rows["seed"].to_numpy(),
                         "window": rows["position"].to_numpy(), "doc": rows["doc"].to_numpy(), "nll_nats": nll,
                         "n_bytes": n_bytes})


def next_word_tables(rows: pd.DataFrame, n_resamples: int = 1000,
                     level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-position rows of every run (``position_rows`` with model and seed) -> one row per run, bucket
    and metric (value and its interval over resampled articles, n positions, and the model's seed-aware
    model_value, model_ci_low, model_ci_high, seed_sd, n_seeds), and the paired difference of every two
    models per bucket and metric on the same resampled articles. An empty bucket gets NaN rows."""
    missing = [c for c in (*POSITION_KEYS, "next_word", "word_bytes", "nll", "n_bytes") if c not in rows]
    if missing:
        raise ValueError(f"next-word rows lack column(s) {', '.join(missing)}")
    runs = rows[["model", "seed"]].drop_duplicates()
    table, paired = [], []
    for name, *_ in BUCKETS:
        part = rows[rows["bucket"] == name]
        n = part.groupby(["model", "seed"]).size().max() if len(part) else 0
        for metric in METRICS:
            if not len(part):
                table.append(runs.assign(bucket=name, metric=metric, value=math.nan, ci_low=math.nan,
                                         ci_high=math.nan, n=0))
                continue
            tables = bpb_tables(ratio_rows(part, metric), n_resamples, level)
            table.append(run_summary(tables).assign(bucket=name, metric=metric, n=n))
            paired.append(tables.paired.assign(bucket=name, metric=metric))
    paired = pd.concat(paired, ignore_index=True) if paired else pd.DataFrame()
    return pd.concat(table, ignore_index=True), paired
