"""Adapter: the words every model embeds (evaluation sets, a sample per frequency bucket, noised variants)."""

from byteword.corpus import read_split
from byteword.embeddings import build_lexicon
from byteword.provenance import with_provenance, write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
p = snakemake.params
table = build_lexicon(read_split(snakemake.input.train)["text"], read_split(snakemake.input.test)["text"],
                      p.datasets, p.words_per_bucket, p.noised_words, p.variants_per_word, p.seed)
print(table.groupby(["kind", "bucket"]).size().to_string())
write_parquet(with_provenance(table, experiment=snakemake.params.experiment, corpus=snakemake.wildcards.corpus),
              snakemake.output[0])
