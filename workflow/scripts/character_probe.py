"""Adapter: per-letter probes on every model's static vectors (both readings, each beside random vectors of the
same size) and on the reference rows."""

import pandas as pd

from byteword.evaluation.embedding_suite import character_probe_table
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
table = character_probe_table([pd.read_parquet(p) for p in snakemake.input.static], snakemake.params.resamples,
                              snakemake.params.seed,
                              [pd.read_parquet(p) for p in snakemake.input.reference])
print(table[table["letter"] == "macro"].to_string())
write_parquet(table, snakemake.output[0])
