"""Adapter: Spearman per model, reading, dataset and level (static: both readings and the reference rows;
contextual), every row of a level on the same pairs."""

import pandas as pd

from byteword.evaluation.embedding_suite import similarity_table
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
table = similarity_table([pd.read_parquet(p) for p in snakemake.input.static],
                         [pd.read_parquet(p) for p in snakemake.input.contextual],
                         snakemake.params.datasets, snakemake.params.resamples,
                         [pd.read_parquet(p) for p in snakemake.input.reference])
print(table.to_string())
write_parquet(table, snakemake.output[0])
