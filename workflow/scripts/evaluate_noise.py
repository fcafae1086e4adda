"""Adapter: BPB of one model on seeded perturbations of the first test windows, scored on the
perturbed bytes, beside the clean windows (one row per perturbation)."""

from byteword.corpus import read_split
from byteword.data import document_windows
from byteword.evaluation.noise import score_noise
from byteword.provenance import model_identity, with_provenance, write_parquet
from byteword.workflow_io import load_job_model

ev = snakemake.params.evaluation
cfg = ev["noise"]
loaded = load_job_model(snakemake)
meta = loaded.meta
context = meta["training"]["context_bytes"]
windows = document_windows(read_split(snakemake.input.test)["text"], context, cfg["test_bytes"])
table = score_noise(loaded.model, windows, cfg["perturbations"], context, loaded.tokenizer,
                    batch_size=ev["batch_size"], n_resamples=ev["bootstrap_resamples"], seed=cfg["seed"])
print(table.to_string())
table = table.assign(family=meta["model"]["family"])
write_parquet(with_provenance(table, **model_identity(meta)),
              snakemake.output[0])
