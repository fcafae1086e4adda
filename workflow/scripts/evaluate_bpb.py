"""Adapter: test-split bits per byte of one model on the shared evaluation windows (each scores its last
stride after reading the bytes before it), with an interval over test documents; one summary row, one
row per window (for paired comparisons), and BPB by position in windows scored from their first byte."""

import numpy as np
import pandas as pd

from byteword.corpus import read_split
from byteword.data import eval_windows
from byteword.evaluation.bootstrap import ratio_ci
from byteword.evaluation.bpb import score_windows
from byteword.provenance import with_provenance, write_parquet
from byteword.workflow_io import load_job_model

p = snakemake.params
loaded = load_job_model(snakemake)
record = loaded.record
context = record.training.context_bytes
texts = read_split(snakemake.input.test)["text"]
windows = eval_windows(texts, context, p.stride_bytes, p.test_bytes, loaded.tokenizer, p.doc_bytes)
scores = score_windows(loaded.model, windows, loaded.tokenizer, batch_size=p.batch_size, progress=True)
bpb = scores.bpb
low, high = ratio_ci(scores.nll, scores.n_bytes, scores.doc, n_resamples=p.bootstrap_resamples)
n_docs = len(np.unique(scores.doc))
print(f"{loaded.name}: {bpb:.4f} bits per byte [{low:.4f}, {high:.4f}] over {len(windows)} windows of {n_docs} documents")

ident = record.identity()
summary = pd.DataFrame([{"family": record.model.family, "split": "test", "metric": "bpb", "value": bpb,
                         "ci_low": low, "ci_high": high, "n_bytes": int(scores.n_bytes.sum()),
                         "n_windows": len(windows), "n_docs": n_docs, "nll_nats": float(scores.nll.sum()),
                         "n_chunks": int(scores.n_chunks.sum())}])
write_parquet(with_provenance(summary, **ident), snakemake.output.summary)
write_parquet(with_provenance(scores.rows(n_chunks=scores.n_chunks), **ident), snakemake.output.windows)

# who uses its context: windows from their first byte (no context), NLL summed at each position
by_position = np.zeros((2, 2 * context))
score_windows(loaded.model, eval_windows(texts, context, context, p.position_bytes, loaded.tokenizer),
              loaded.tokenizer, batch_size=p.batch_size, by_position=by_position)
positions = pd.DataFrame({"family": record.model.family, "position": np.arange(2 * context),
                          "nll_nats": by_position[0], "n_bytes": by_position[1].astype(np.int64)})
positions = positions[positions.n_bytes > 0].assign(metric="bpb", value=lambda d: d.nll_nats / (np.log(2) * d.n_bytes))
write_parquet(with_provenance(positions, **ident), snakemake.output.positions)
