"""Adapter: under-trained-token indicators of one BPE model, scored against its training counts."""

from byteword.corpus import read_split
from byteword.evaluation.undertrained import indicators, score_indicators, token_counts
from byteword.provenance import model_identity, with_provenance, write_parquet
from byteword.workflow_io import load_job_model

loaded = load_job_model(snakemake)
meta, model = loaded.meta, loaded.model
counts = token_counts(loaded.tokenizer, read_split(snakemake.input.train)["text"].tolist())
scores = indicators(model.embed.weight.detach().numpy(), model.head.weight.detach().numpy())
table = score_indicators(scores, counts, n_resamples=snakemake.params.resamples)
print(f"{(counts == 0).sum()} of {len(counts)} tokens never occur in the training split")
print(table.to_string())
write_parquet(with_provenance(table, **model_identity(meta)),
              snakemake.output[0])
