"""Adapter: next-word scores of one model at seeded positions of the test split (one row per position:
its article, the word, its training count and bucket, greedy hits and the word's NLL). Every model draws
the same positions with the same context bytes; the summary resamples articles."""

from byteword.corpus import read_split
from byteword.evaluation.next_word import next_word_positions, position_rows, score_positions, word_counts
from byteword.provenance import with_provenance, write_parquet
from byteword.workflow_io import load_job_model

p = snakemake.params
loaded = load_job_model(snakemake)
record = loaded.record
counts = word_counts(read_split(snakemake.input.train)["text"])
positions = next_word_positions(read_split(snakemake.input.test)["text"], counts, record.training.context_bytes,
                                p.next_word["max_word_bytes"], p.next_word["positions_per_bucket"],
                                p.next_word["seed"], loaded.tokenizer)
rows = position_rows(score_positions(loaded.model, positions, loaded.tokenizer, batch_size=p.batch_size))
print(rows.groupby("bucket")[["next_word", "word_bytes"]].mean().to_string())
rows = rows.assign(family=record.model.family)
write_parquet(with_provenance(rows, **record.identity()), snakemake.output[0])
