"""Adapter: BPB of one model on seeded perturbations of the first bytes of test documents, scored on the
perturbed bytes in the evaluation windows, beside the clean text (one row per perturbation), and its
per-window rows for the summary's paired intervals."""

from byteword.corpus import read_split
from byteword.evaluation.noise import noise_documents, score_noise
from byteword.provenance import with_provenance, write_parquet
from byteword.workflow_io import load_job_model

p = snakemake.params
loaded = load_job_model(snakemake)
record = loaded.record
docs = noise_documents(read_split(snakemake.input.test)["text"], p.noise["test_bytes"])
table, windows = score_noise(loaded.model, docs, p.noise["perturbations"], record.training.context_bytes,
                             p.stride_bytes, loaded.tokenizer, batch_size=p.batch_size,
                             n_resamples=p.bootstrap_resamples, seed=p.noise["seed"])
print(table.to_string())
table = table.assign(family=record.model.family)
write_parquet(with_provenance(table, **record.identity()), snakemake.output.summary)
write_parquet(with_provenance(windows, **record.identity()), snakemake.output.windows)
