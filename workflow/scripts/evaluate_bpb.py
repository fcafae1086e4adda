"""Adapter: test-split bits per byte of one model on the shared evaluation windows, with a bootstrap
interval over windows; one summary row per metric and one row per window."""

import pandas as pd

from byteword.corpus import read_split
from byteword.data import document_windows
from byteword.evaluation.bpb import bootstrap_ci, score_windows
from byteword.provenance import model_identity, with_provenance, write_parquet
from byteword.workflow_io import load_job_model

ev = snakemake.params.evaluation
loaded = load_job_model(snakemake)
meta = loaded.meta
windows = document_windows(read_split(snakemake.input.test)["text"], meta["training"]["context_bytes"], ev["test_bytes"])
scores = score_windows(loaded.model, windows, loaded.tokenizer, batch_size=ev["batch_size"], progress=True)
nll, n_bytes, n_chunks = scores
bpb = scores.bpb
low, high = bootstrap_ci(nll, n_bytes, n_resamples=ev["bootstrap_resamples"])
print(f"{loaded.name}: {bpb:.4f} bits per byte [{low:.4f}, {high:.4f}] over {len(windows)} windows")

ident = model_identity(meta)
summary = pd.DataFrame([{"family": meta["model"]["family"], "split": "test", "metric": "bpb", "value": bpb,
                         "ci_low": low, "ci_high": high, "n_bytes": int(n_bytes.sum()), "n_windows": len(windows),
                         "nll_nats": float(nll.sum()), "n_chunks": int(n_chunks.sum())}])
write_parquet(with_provenance(summary, **ident), snakemake.output.summary)
per_window = pd.DataFrame({"window": range(len(windows)), "nll_nats": nll, "n_bytes": n_bytes, "n_chunks": n_chunks})
write_parquet(with_provenance(per_window, **ident), snakemake.output.windows)
