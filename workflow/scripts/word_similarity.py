"""Adapter: Spearman per model and dataset, every model scored on the same pairs, with coverage."""

import pandas as pd

from byteword.embeddings import load_word_pairs, vectors_from_table
from byteword.evaluation.word_similarity import shared_pairs, word_similarity
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
tables = [pd.read_parquet(p) for p in snakemake.input]
vectors = [vectors_from_table(t) for t in tables]
rows = []
for dataset in snakemake.params.datasets:
    pairs = load_word_pairs(dataset)
    shared = shared_pairs(pairs, [set(v) for v in vectors])
    for table, vecs in zip(tables, vectors):
        ident = table.iloc[0][["experiment", "corpus", "tokenizer", "model", "seed", "config_hash", "code_version"]]
        score = word_similarity(shared, vecs, n_total=len(pairs), n_resamples=snakemake.params.resamples)
        rows.append({**ident.to_dict(), "dataset": dataset, "metric": "spearman", **score})
        print(rows[-1])
write_parquet(pd.DataFrame(rows), snakemake.output[0])
