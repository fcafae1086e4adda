"""Adapter: under-trained-token indicators of one BPE model, scored against its training counts."""

import numpy as np

from byteword.corpus import read_split
from byteword.data import seen_windows
from byteword.evaluation.undertrained import indicators, score_indicators
from byteword.tokenization import special_ids
from byteword.provenance import with_provenance, write_parquet
from byteword.workflow_io import load_job_model

loaded = load_job_model(snakemake)
record = loaded.record
# counts over the very windows the model trained on (not the whole split, which it saw only part of)
windows = seen_windows(read_split(snakemake.input.train)["text"], record.training.context_bytes,
                       record.training.batch_size, record.bytes_seen, record.seed, loaded.tokenizer)
counts = np.bincount(np.concatenate([w.token_ids for w in windows]).astype(np.int64),
                     minlength=loaded.tokenizer.get_vocab_size())
# special tokens (BOS) are read but never a target: neither trained nor under-trained, so they are left out
keep = np.ones(len(counts), dtype=bool)
keep[list(special_ids(loaded.tokenizer))] = False
embed, head = loaded.model.token_embeddings()
scores = indicators(embed.detach().numpy(), head.detach().numpy())
table = score_indicators({k: v[keep] for k, v in scores.items()}, counts[keep], n_resamples=snakemake.params.resamples)
print(f"{(counts[keep] == 0).sum()} of {keep.sum()} tokens never occur in the {record.bytes_seen} training bytes "
      f"the model read")
print(table.to_string())
write_parquet(with_provenance(table, **record.identity()), snakemake.output[0])
