"""Adapter: how close each model (at both readings) and each reference row puts one-edit variants to their clean
word, against random pairs."""

import pandas as pd

from byteword.evaluation.embedding_suite import typo_table
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
table = typo_table([pd.read_parquet(p) for p in snakemake.input.static], snakemake.params.resamples,
                   snakemake.params.seed, [pd.read_parquet(p) for p in snakemake.input.reference])
print(table.to_string())
write_parquet(table, snakemake.output[0])
