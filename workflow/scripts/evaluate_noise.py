"""Adapter: BPB of one model on seeded perturbations of the first bytes of test documents, scored on the
perturbed bytes in the evaluation windows, beside the clean text (one row per perturbation), and its
per-window rows for the summary's paired intervals."""

from byteword.corpus import read_split
from byteword.evaluation.noise import noise_documents, score_noise
from byteword.provenance import model_identity, with_provenance, write_parquet
from byteword.workflow_io import load_job_model

ev = snakemake.params.evaluation
cfg = ev["noise"]
loaded = load_job_model(snakemake)
meta = loaded.meta
docs = noise_documents(read_split(snakemake.input.test)["text"], cfg["test_bytes"])
table, windows = score_noise(loaded.model, docs, cfg["perturbations"], meta["training"]["context_bytes"], ev["stride_bytes"],
                    loaded.tokenizer, batch_size=ev["batch_size"], n_resamples=ev["bootstrap_resamples"],
                    seed=cfg["seed"])
print(table.to_string())
table = table.assign(family=meta["model"]["family"])
write_parquet(with_provenance(table, **model_identity(meta)), snakemake.output.summary)
write_parquet(with_provenance(windows, **model_identity(meta)), snakemake.output.windows)
