"""Adapter: polarity accuracy from every model's frozen sentence vectors, beside bag-of-bytes features."""

import pandas as pd

from byteword.evaluation.embedding_suite import sentence_probe_table
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
cfg = snakemake.params.embeddings
table = sentence_probe_table([pd.read_parquet(p) for p in snakemake.input.sentences], cfg["whiten_sentences"],
                             snakemake.params.resamples, cfg["seed"])
print(table.to_string())
write_parquet(table, snakemake.output[0])
