"""Adapter: the final validation BPB of every model at the sweep's budget, at the study's learning rate and
at every swept one, with the rate the study uses and the sweep's best marked."""

import pandas as pd

from byteword.provenance import write_parquet
from byteword.train import log_metric
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
points = snakemake.params.points  # point name -> [model, budget, lr, is a sweep point]
rows = []
for path in snakemake.input.metrics:
    metrics = pd.read_parquet(path)
    name = metrics["model"].iloc[0]
    model, budget, lr, sweep = points[name]
    rows.append({"model": model, "budget": budget, "lr": lr, "study_lr": not sweep,
                 "valid_bpb": float(log_metric(metrics, "valid_bpb")["value"].iloc[-1])})
table = pd.DataFrame(rows).sort_values(["model", "lr", "study_lr"]).drop_duplicates(["model", "lr"], keep="last")
table["best"] = table["valid_bpb"] == table.groupby("model")["valid_bpb"].transform("min")
print(table.to_string())
write_parquet(table, snakemake.output[0])
