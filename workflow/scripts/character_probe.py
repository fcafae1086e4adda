"""Adapter: per-letter probes on every model's static vectors, beside random vectors of the same size."""

import pandas as pd

from byteword.evaluation.embedding_suite import character_probe_table
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
table = character_probe_table([pd.read_parquet(p) for p in snakemake.input.static], snakemake.params.resamples,
                              snakemake.params.embeddings["seed"])
print(table[table["letter"] == "macro"].to_string())
write_parquet(table, snakemake.output[0])
