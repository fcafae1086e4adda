"""Adapter: 3CosAdd analogy accuracy of every model's static vectors (both readings) and of the reference rows
on gensim's questions."""

import pandas as pd

from byteword.evaluation.embedding_suite import analogy_table
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
table = analogy_table([pd.read_parquet(p) for p in snakemake.input.static], snakemake.params.resamples,
                      [pd.read_parquet(p) for p in snakemake.input.reference])
print(table.to_string())
write_parquet(table, snakemake.output[0])
