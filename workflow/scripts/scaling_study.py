"""Adapter: the scaling study's points (test BPB per model and budget, with the FLOPs, bytes and parameters
each reached, and below them the n-grams and compressors on the same test bytes, family "baseline") and its
fitted curves (byteword.scaling.analyse), refusing a point that read more than one epoch of the training
split."""

import pandas as pd

from byteword.corpus import read_split
from byteword.provenance import write_parquet
from byteword.record import read_record
from byteword.scaling import analyse, document_table
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
points = snakemake.params.points  # point name -> [model, budget]
epoch = int(read_split(snakemake.input.train)["text"].str.encode("utf-8").str.len().sum())
rows = []
for path in snakemake.input.meta:
    r = read_record(path)
    if r.bytes_seen > epoch:
        raise ValueError(f"{r.model.name} (seed {r.seed}) trained on {r.bytes_seen:,} bytes, more than one epoch of "
                         f"the training split ({epoch:,} bytes): lower scaling.bytes_per_fpb or the largest budget")
    model, budget = points[r.model.name]
    rows.append({"model": model, "budget": budget, "seed": str(r.seed), "family": r.model.family,
                 "compute": r.train_flops, "flops_per_byte": r.flops_per_byte, "bytes_seen": r.bytes_seen,
                 "epochs": r.bytes_seen / epoch, "lr": r.training.lr, "width": r.model.backbone.d_model,
                 "params_non_embedding": r.params["params_non_embedding"]})
runs = pd.DataFrame(rows)
per_point = runs.groupby(["model", "budget"], sort=False).agg(
    family=("family", "first"), compute=("compute", "mean"), flops_per_byte=("flops_per_byte", "mean"),
    bytes_seen=("bytes_seen", "mean"), epochs=("epochs", "max"), lr=("lr", "first"), width=("width", "first"),
    params_non_embedding=("params_non_embedding", "mean")).reset_index()
windows = pd.concat([pd.read_parquet(p, columns=["model", "seed", "doc", "nll_nats", "n_bytes"])
                     for p in snakemake.input.windows], ignore_index=True)
windows["budget"] = windows["model"].map(lambda name: points[name][1])
windows["model"] = windows["model"].map(lambda name: points[name][0])
study = analyse(document_table(windows), per_point[["model", "budget", "compute"]], snakemake.params.reference,
                n_resamples=snakemake.params.resamples, extrapolate=snakemake.params.extrapolate)
table = study.points.merge(per_point.drop(columns="compute"), on=["model", "budget"])
baselines = pd.read_parquet(snakemake.input.baselines)
baselines = baselines.rename(columns={"value": "bpb", "ci_low": "bpb_low", "ci_high": "bpb_high"})
table = pd.concat([table.assign(label=""), baselines[["model", "label", "bpb", "bpb_low", "bpb_high"]].assign(
    family="baseline")], ignore_index=True)
print(table.to_string())
print(study.fits.to_string())
write_parquet(table, snakemake.output.points)
write_parquet(study.fits, snakemake.output.fits)
