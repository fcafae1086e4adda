"""Adapter: read the configured corpus source, split it, write train/valid/test Parquet and a card."""

from pathlib import Path

from byteword.corpus import corpus_config_from_dict, prepare_corpus
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
spec = dict(snakemake.params.corpus)
spec.setdefault("min_split_bytes", snakemake.params.min_split_bytes)
cfg = corpus_config_from_dict(snakemake.wildcards.corpus, spec)
card = prepare_corpus(cfg, Path(snakemake.output.card).parent)
print(card)
