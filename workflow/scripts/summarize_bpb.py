"""Adapter: one table of test BPB for every model, baseline and compressor, with family, variant, FLOPs per
byte, training FLOPs, parameters by part and bytes per chunk, and intervals over resampled documents (and
seeds); and the paired difference of every two models on the same resampled documents."""

import pandas as pd

from byteword.evaluation.paired import models_and_baselines
from byteword.provenance import with_provenance, write_parquet
from byteword.record import read_record
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
models = pd.concat([pd.read_parquet(p) for p in snakemake.input.models], ignore_index=True)
records = [read_record(p) for p in snakemake.input.meta]
extra = pd.DataFrame([{"model": r.model.name, "seed": str(r.seed), "variant": r.model.describe(),
                       "imported": r.model.imported,
                       "flops_per_byte": r.flops_per_byte, "train_flops": r.train_flops,
                       "lr": r.training.lr if r.steps else float("nan"),  # an imported model: not trained here
                       **r.params} for r in records])
models = models.merge(extra, on=["model", "seed"], how="left").assign(kind="model")
models["bytes_per_chunk"] = (models["n_bytes"] / models["n_chunks"]).where(models["n_chunks"] > 0)

# per-window NLL of every run and baseline (a baseline's seed is "" unless it was counted on one run's draws)
windows = pd.concat([pd.read_parquet(p) for p in snakemake.input.windows], ignore_index=True)
baselines = pd.read_parquet(snakemake.input.baselines)
# windowed baselines get the models' document intervals and their labels; whole-text compressors (no
# windows: they read the test text at once) are rows of their own, labelled as such
rows, tables = models_and_baselines(models, windows, baselines, n_resamples=snakemake.params.resamples)
labels = pd.read_parquet(snakemake.input.baseline_summary)
rows = rows.merge(labels[["model", "label", "order"]], on="model", how="left")
whole_text = labels[~labels["model"].isin(baselines["model"])].assign(family="compressor", kind="compressor")
table = pd.concat([rows, whole_text], ignore_index=True)
print(table[["model", "variant", "value", "ci_low", "ci_high", "seed_sd", "n_docs", "flops_per_byte",
             "bytes_per_chunk"]].to_string())
write_parquet(table, snakemake.output.bpb)

paired = with_provenance(tables.paired, experiment=models["experiment"].iloc[0], corpus=snakemake.wildcards.corpus)
print(paired[["model_a", "model_b", "value", "ci_low", "ci_high", "excludes_zero"]].to_string())
write_parquet(paired, snakemake.output.paired)
