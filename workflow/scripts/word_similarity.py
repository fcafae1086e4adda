"""Adapter: Spearman per model, dataset and level (static, contextual), every model on the same pairs."""

import pandas as pd

from byteword.evaluation.embedding_suite import similarity_table
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
table = similarity_table([pd.read_parquet(p) for p in snakemake.input.static],
                         [pd.read_parquet(p) for p in snakemake.input.contextual],
                         snakemake.params.embeddings["datasets"], snakemake.params.resamples)
print(table.to_string())
write_parquet(table, snakemake.output[0])
