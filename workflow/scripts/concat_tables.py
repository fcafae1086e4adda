"""Adapter: the per-model tables of one evaluation concatenated into one (noise, under-trained tokens)."""

import pandas as pd

from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
table = pd.concat([pd.read_parquet(p) for p in snakemake.input], ignore_index=True)
print(table.to_string(max_rows=60))
write_parquet(table, snakemake.output[0])
