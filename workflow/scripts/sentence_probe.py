"""Adapter: polarity accuracy from every model's frozen sentence vectors, beside bag-of-bytes features."""

import pandas as pd

from byteword.evaluation.embedding_suite import sentence_probe_table
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
p = snakemake.params
table = sentence_probe_table([pd.read_parquet(path) for path in snakemake.input.sentences], p.whiten_sentences,
                             p.resamples, p.seed)
print(table.to_string())
write_parquet(table, snakemake.output[0])
