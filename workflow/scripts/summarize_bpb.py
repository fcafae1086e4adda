"""Adapter: one table of test BPB for every model and compressor, with FLOPs per byte and parameters."""

import json

import pandas as pd

from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
models = pd.concat([pd.read_parquet(p) for p in snakemake.input.models], ignore_index=True)
metas = [json.loads(open(p).read()) for p in snakemake.input.meta]
extra = pd.DataFrame([{"model": m["model"]["name"], "seed": str(m["seed"]), "flops_per_byte": m["flops_per_byte"],
                       "train_flops": m["train_flops"], "params_total": m["params_total"],
                       "params_embedding": m["params_embedding"]} for m in metas])
models = models.merge(extra, on=["model", "seed"], how="left").assign(kind="model")
compressors = pd.read_parquet(snakemake.input.compressors)
compressors = compressors.assign(model=compressors["compressor"], family="compressor", kind="compressor")
table = pd.concat([models, compressors.drop(columns=["compressor", "level", "compressed_bytes"])], ignore_index=True)
print(table[["model", "kind", "value", "ci_low", "ci_high"]].to_string())
write_parquet(table, snakemake.output[0])
