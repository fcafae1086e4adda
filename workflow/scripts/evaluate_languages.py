"""Adapter: BPB and bytes per chunk of one model on its own test split and on evaluation-only text
in other languages (one row per language), and its per-window rows for the summary's paired intervals."""

from byteword.corpus import read_split
from byteword.evaluation.languages import evaluation_texts, score_languages
from byteword.provenance import with_provenance, write_parquet
from byteword.workflow_io import load_job_model

p = snakemake.params
loaded = load_job_model(snakemake)
record = loaded.record
texts = evaluation_texts(p.language, read_split(snakemake.input.test)["text"], p.languages)
table, windows = score_languages(loaded.model, texts, record.training.context_bytes, p.stride_bytes,
                                 p.language_bytes, loaded.tokenizer, batch_size=p.batch_size,
                                 n_resamples=p.bootstrap_resamples)
print(table.to_string())
table = table.assign(family=record.model.family)
write_parquet(with_provenance(table, **record.identity()), snakemake.output.summary)
write_parquet(with_provenance(windows, **record.identity()), snakemake.output.windows)
