"""Adapter: one reference row's vectors of the lexicon (bag of bytes or bigrams, random, or fastText / word2vec
trained on the training split), in the models' static-vector format with reading "reference"."""

import time

import pandas as pd

from byteword.corpus import read_split
from byteword.evaluation.vectors import vector_sizes
from byteword.evaluation.reference_vectors import (LEARNED, reference_config_from_dict, reference_table,
                                                   reference_vectors)
from byteword.provenance import config_hash, with_provenance, write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
name, params = snakemake.wildcards.reference, snakemake.params
cfg = reference_config_from_dict(params.reference, params.seed)
lexicon = pd.read_parquet(snakemake.input.lexicon)[["word", "kind", "source", "count", "bucket"]]
train = read_split(snakemake.input.train)["text"] if name in LEARNED else None
start = time.perf_counter()
X, known = reference_vectors(name, list(lexicon["word"]), train, cfg)
table = reference_table(lexicon, X, known)
clean = (lexicon["kind"] == "clean").to_numpy()
print(f"{name}: {len(table)} vectors of dimension {X.shape[1]} in {time.perf_counter() - start:.1f} s; "
      f"known: {known.mean():.1%} of all words, {known[clean].mean():.1%} of the clean ones")
tokenizer = "words" if name in LEARNED else "bytes" if name.startswith("bag_of") else ""
write_parquet(with_provenance(table, experiment=params.experiment, corpus=snakemake.wildcards.corpus,
                              tokenizer=tokenizer, model=name, seed=cfg.seed,
                              cfg_hash=config_hash({**params.reference, "seed": cfg.seed})),
              snakemake.output[0], fixed_size_lists=vector_sizes(table))
