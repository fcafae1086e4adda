"""Adapter: one static vector per word of the word-similarity sets, for one model (Parquet)."""

from pathlib import Path

import torch

import byteword
from byteword.embeddings import lexicon, static_word_vectors, vectors_table
from byteword.provenance import model_identity, with_provenance, write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
loaded = byteword.load(Path(snakemake.input.meta).parent)
words = lexicon(snakemake.params.datasets)
vectors = static_word_vectors(loaded, words)
print(f"{loaded.name}: {len(words)} words, dimension {vectors.shape[1]}")
meta = loaded.meta
table = vectors_table(words, vectors)
write_parquet(with_provenance(table, **model_identity(meta)), snakemake.output[0],
              fixed_size_lists={"vector": vectors.shape[1]})
