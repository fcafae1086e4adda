"""Adapter: next-word accuracy of one model by training-frequency bucket (one row per bucket and metric).
Every model draws the same seeded positions from the test split, with the same context bytes."""

from byteword.corpus import read_split
from byteword.evaluation.next_word import accuracy_by_bucket, next_word_positions, score_positions, word_counts
from byteword.provenance import model_identity, with_provenance, write_parquet
from byteword.workflow_io import load_job_model

ev = snakemake.params.evaluation
cfg = ev["next_word"]
loaded = load_job_model(snakemake)
meta = loaded.meta
counts = word_counts(read_split(snakemake.input.train)["text"])
positions = next_word_positions(read_split(snakemake.input.test)["text"], counts, meta["training"]["context_bytes"],
                                cfg["max_word_bytes"], cfg["positions_per_bucket"], cfg["seed"], loaded.tokenizer)
scored = score_positions(loaded.model, positions, loaded.tokenizer, batch_size=ev["batch_size"])
table = accuracy_by_bucket(scored, n_resamples=ev["bootstrap_resamples"])
print(table.to_string())
table = table.assign(family=meta["model"]["family"])
write_parquet(with_provenance(table, **model_identity(meta)), snakemake.output[0])
