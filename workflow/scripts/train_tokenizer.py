"""Adapter: train one byte-level BPE tokenizer on the training split."""

from byteword.corpus import read_split
from byteword.tokenization import save_tokenizer, train_bpe
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
texts = read_split(snakemake.input[0])["text"].tolist()
tok = train_bpe(texts, snakemake.params.vocab_size)
save_tokenizer(tok, snakemake.output[0])
print(f"trained {snakemake.wildcards.tokenizer}: {tok.get_vocab_size()} ids on {len(texts)} documents")
