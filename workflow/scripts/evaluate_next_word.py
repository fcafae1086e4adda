"""Adapter: next-word scores of one model at seeded positions of the test split (one row per position:
its article, the word, its training count and bucket, greedy hits and the word's NLL). Every model draws
the same positions with the same context bytes; the summary resamples articles."""

from byteword.corpus import read_split
from byteword.evaluation.next_word import next_word_positions, position_rows, score_positions, word_counts
from byteword.provenance import model_identity, with_provenance, write_parquet
from byteword.workflow_io import load_job_model

ev = snakemake.params.evaluation
cfg = ev["next_word"]
loaded = load_job_model(snakemake)
meta = loaded.meta
counts = word_counts(read_split(snakemake.input.train)["text"])
positions = next_word_positions(read_split(snakemake.input.test)["text"], counts, meta["training"]["context_bytes"],
                                cfg["max_word_bytes"], cfg["positions_per_bucket"], cfg["seed"], loaded.tokenizer)
rows = position_rows(score_positions(loaded.model, positions, loaded.tokenizer, batch_size=ev["batch_size"]))
print(rows.groupby("bucket")[["next_word", "word_bytes"]].mean().to_string())
rows = rows.assign(family=meta["model"]["family"])
write_parquet(with_provenance(rows, **model_identity(meta)), snakemake.output[0])
