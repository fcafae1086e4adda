"""Adapter: baselines scored on the models' own windows — a byte n-gram (interpolated modified
Kneser–Ney) counted on the bytes the models saw and on the whole training split, each with its order
chosen on validation windows, and gzip, lzma and PPMd conditioned on each window's context — plus
whole-text compressor figures. The same baselines score the noise and language evaluations' windows.
Outputs: one row per (baseline, window) of the test split, of each perturbation and of each language,
and one summary row per baseline on the test split."""

import time

import numpy as np
import pandas as pd

from byteword.corpus import read_split
from byteword.data import eval_windows, seen_windows
from byteword.evaluation.bootstrap import ratio_ci
from byteword.evaluation.bpb import bits_per_byte, window_rows
from byteword.evaluation.compressors import PPMD_ORDER, compressor_bpb, conditioned_bits, ppmd_bpb
from byteword.evaluation.languages import evaluation_texts, language_windows
from byteword.evaluation.ngram import LN2, choose_order
from byteword.evaluation.noise import noise_documents, noise_windows
from byteword.provenance import with_provenance, write_parquet
from byteword.record import read_record
from byteword.workflow_io import log_to

VALID_BYTES = 65536  # validation windows that choose each n-gram's order

log_to(snakemake.log[0])
p = snakemake.params
# the windows and training draws of a trained model's record (every model of a config shares them)
record = read_record(snakemake.input.meta)
context, stride, seed = record.training.context_bytes, p.stride_bytes, record.seed
train_texts = read_split(snakemake.input.train)["text"].tolist()
test_texts = read_split(snakemake.input.test)["text"].tolist()
valid = eval_windows(read_split(snakemake.input.valid)["text"], context, stride, VALID_BYTES)
test = eval_windows(test_texts, context, stride, p.test_bytes, max_doc_bytes=p.doc_bytes)
n_bytes = np.array([w.n_scored for w in test], dtype=np.int64)  # (n_windows,)
docs = np.array([w.doc for w in test], dtype=np.int64)

# training's own draws, replayed batch by batch up to the budget every model trained to (a byte model's
# windows; a BPE model's end on token boundaries, so its own bytes_seen would replay other windows)
seen = [w.data for w in seen_windows(train_texts, context, record.training.batch_size, record.training.train_bytes,
                                     seed)]
per_window, summary = [], []


def stamp(df: pd.DataFrame, model: str) -> pd.DataFrame:
    """Provenance columns; only the n-gram counted on the sampled windows depends on the seed."""
    return with_provenance(df, experiment=record.experiment, corpus=snakemake.wildcards.corpus,
                           model=model, seed=seed if model == "ngram_seen" else "")


def stamped_window_rows(windows, clusters, nll: np.ndarray, model: str, **condition) -> pd.DataFrame:
    """(n_windows,) NLL in nats -> the per-window rows the summaries resample, stamped."""
    return stamp(window_rows(nll, [w.n_scored for w in windows], clusters, **condition), model)


def add(model: str, label: str, nll: np.ndarray, seconds: float, order=None) -> None:
    """Record one windowed baseline on the test split: its window rows and its summary row."""
    low, high = ratio_ci(nll, n_bytes, docs, n_resamples=p.bootstrap_resamples)  # the models' resamples
    bpb = bits_per_byte(nll, n_bytes)
    print(f"{model}: {bpb:.4f} bits per byte [{low:.4f}, {high:.4f}] ({label}; {seconds:.1f} s)")
    per_window.append(stamped_window_rows(test, docs, nll, model))
    summary.append(stamp(pd.DataFrame([{"kind": "baseline", "label": label, "value": bpb, "ci_low": low,
                                        "ci_high": high, "n_bytes": int(n_bytes.sum()), "order": order}]), model))


# every windowed baseline as (name, label, order, windows -> (n_windows,) NLL in nats)
scorers = []
seen_bytes = sum(map(len, seen))
seen_size = f"{seen_bytes / 1e6:.2f} MB" if seen_bytes >= 1e6 else f"{seen_bytes / 1e3:.1f} KB"
for model, chunks, what in [("ngram_seen", seen, f"the {seen_size} the models saw"),
                            ("ngram_train", [t.encode("utf-8") for t in train_texts], "the whole training split")]:
    t0 = time.perf_counter()
    ngram, valid_bpb = choose_order(chunks, valid)  # each its own order: more counted bytes, longer contexts
    print(f"{model} validation BPB by order: " + ", ".join(f"{n}: {b:.4f}" for n, b in valid_bpb.items()))
    scorers.append((model, f"byte {ngram.order}-gram KN, counted on {what}", ngram.order, ngram.window_nll))
    print(f"{model}: counted in {time.perf_counter() - t0:.1f} s")
for model, label, order in [("gzip_ctx", "deflate -9", None), ("lzma_ctx", "LZMA2 (raw, preset 9)", None),
                            ("ppmd_ctx", f"PPMd var. I order {PPMD_ORDER}", PPMD_ORDER)]:
    scorers.append((model, f"{label} given the window's context", order,
                    lambda windows, name=model: conditioned_bits(windows, name) * LN2))  # bits -> nats

for model, label, order, score in scorers:
    t0 = time.perf_counter()
    add(model, label, score(test), time.perf_counter() - t0, order)

text = b"".join(w.data[w.score_from:] for w in test)  # the scored spans, in order: the test documents
for row in compressor_bpb(text) + [ppmd_bpb(text)]:  # ppmd's "level" is its model order
    order = row["level"] if row["compressor"] == "ppmd" else None
    summary.append(stamp(pd.DataFrame([{"kind": "baseline", "label": f"whole text (not windowed), level {row['level']}",
                                        "value": row["bpb"], "n_bytes": row["n_bytes"], "order": order}]),
                         row["compressor"]))

summary = pd.concat(summary, ignore_index=True).astype({"order": "Int64"}).assign(split="test", metric="bpb")
write_parquet(summary, snakemake.output.summary)
write_parquet(pd.concat(per_window, ignore_index=True), snakemake.output.windows)

# the noise evaluation's perturbed articles and the language evaluation's texts, in the models' windows
t0 = time.perf_counter()
noise, rows = p.noise, []
if noise["perturbations"]:
    noisy = noise_windows(noise_documents(test_texts, noise["test_bytes"]), noise["perturbations"], noise["seed"],
                          context, stride)
    for name, windows in noisy.items():
        clusters = [w.doc for w in windows]
        rows += [stamped_window_rows(windows, clusters, score(windows), model, perturbation=name)
                 for model, *_, score in scorers]
write_parquet(pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(), snakemake.output.noise)
texts = evaluation_texts(p.language, test_texts, p.languages)
rows = [stamped_window_rows(windows, clusters, score(windows), model, language=lang)
        for lang, (windows, clusters, _) in language_windows(texts, context, stride, p.language_bytes).items()
        for model, *_, score in scorers]
write_parquet(pd.concat(rows, ignore_index=True), snakemake.output.languages)
print(f"noise and language windows scored in {time.perf_counter() - t0:.1f} s")
