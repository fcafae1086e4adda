"""Adapter: one model's static vectors of the lexicon at both readings (input, output; one row per word and
reading), contextual vectors of the similarity-set words in the test split, and sentence vectors of the
polarity sentences (three Parquet files with fixed-size vectors)."""

import pandas as pd

from byteword.corpus import read_split
from byteword.datasets import load_polarity, pair_words
from byteword.embeddings import contextual_word_vectors, sentence_vectors, static_word_readings
from byteword.evaluation.vectors import readings_table, vector_sizes
from byteword.provenance import with_provenance, write_parquet
from byteword.workflow_io import load_job_model

p = snakemake.params
loaded = load_job_model(snakemake)
ident = loaded.record.identity()
lexicon = pd.read_parquet(snakemake.input.lexicon)[["word", "kind", "source", "count", "bucket"]]
static = readings_table(lexicon, static_word_readings(loaded, list(lexicon["word"])))
# contextual vectors for the similarity sets' words only: the costly part (a full window per occurrence)
test_texts = read_split(snakemake.input.test)["text"]
contextual = contextual_word_vectors(loaded, pair_words(p.datasets), test_texts, p.contextual_occurrences)
polarity = load_polarity()
sentences = polarity.assign(vector=list(sentence_vectors(loaded, list(polarity["text"]))))
dims = static.groupby("reading", sort=False)["dim"].first().to_dict()
print(f"{loaded.name}: {len(lexicon)} static words at readings {dims}, {len(contextual)} contextual, "
      f"{len(sentences)} sentence vectors of dimension {len(sentences['vector'].iloc[0])}")
for table, path in ((static, snakemake.output.static), (contextual, snakemake.output.contextual),
                    (sentences, snakemake.output.sentences)):
    write_parquet(with_provenance(table, **ident), path, fixed_size_lists=vector_sizes(table))
