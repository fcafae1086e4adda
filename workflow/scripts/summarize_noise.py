"""Adapter: every model's noise rows in one table."""

import pandas as pd

from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
table = pd.concat([pd.read_parquet(p) for p in snakemake.input], ignore_index=True)
print(table[["model", "perturbation", "bpb", "ci_low", "ci_high", "robustness_ratio"]].to_string())
write_parquet(table, snakemake.output[0])
