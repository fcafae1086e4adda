"""Adapter: anisotropy and intrinsic dimension of every model's static (both readings), contextual and sentence
vectors, and of the reference rows' static vectors."""

import pandas as pd

from byteword.evaluation.embedding_suite import geometry_table
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
table = geometry_table(*([pd.read_parquet(p) for p in getattr(snakemake.input, level)]
                         for level in ("static", "contextual", "sentences")), snakemake.params.resamples,
                       [pd.read_parquet(p) for p in snakemake.input.reference])
print(table.to_string())
write_parquet(table, snakemake.output[0])
