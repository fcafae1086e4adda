"""Adapter: statistics of every tokenizer (and of raw bytes) on the validation split, tidy Parquet."""

from pathlib import Path

import pandas as pd

from byteword.corpus import read_split
from byteword.evaluation.tokenizer_stats import tokenizer_stats
from byteword.provenance import with_provenance, write_parquet
from byteword.tokenization import ByteTokenizer, load_tokenizer
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
texts = read_split(snakemake.input.text)["text"].tolist()
rows = []
named = [("bytes", ByteTokenizer())] + [(Path(p).parent.name, load_tokenizer(p)) for p in snakemake.input.tokenizers]
for name, tok in named:
    stats = tokenizer_stats(tok, texts)
    print(name, stats)
    rows += [{"tokenizer": name, "vocab_size": stats["vocab_size"], "metric": k, "value": float(v)}
             for k, v in stats.items()]
df = pd.DataFrame(rows)
out = pd.concat([with_provenance(g, experiment=snakemake.params.experiment, corpus=snakemake.wildcards.corpus,
                                 tokenizer=name) for name, g in df.groupby("tokenizer", sort=False)])
write_parquet(out, snakemake.output[0])
