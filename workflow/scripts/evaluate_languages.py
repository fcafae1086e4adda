"""Adapter: BPB and bytes per chunk of one model on its own test split and on evaluation-only text
in other languages (one row per language), and its per-window rows for the summary's paired intervals."""

from byteword.corpus import read_split
from byteword.evaluation.languages import evaluation_texts, score_languages
from byteword.provenance import model_identity, with_provenance, write_parquet
from byteword.workflow_io import load_job_model

ev = snakemake.params.evaluation
loaded = load_job_model(snakemake)
meta = loaded.meta
texts = evaluation_texts(snakemake.params.language, read_split(snakemake.input.test)["text"], ev["languages"])
table, windows = score_languages(loaded.model, texts, meta["training"]["context_bytes"], ev["stride_bytes"],
                                 ev["language_bytes"], loaded.tokenizer, batch_size=ev["batch_size"],
                                 n_resamples=ev["bootstrap_resamples"])
print(table.to_string())
table = table.assign(family=meta["model"]["family"])
write_parquet(with_provenance(table, **model_identity(meta)), snakemake.output.summary)
write_parquet(with_provenance(windows, **model_identity(meta)), snakemake.output.windows)
