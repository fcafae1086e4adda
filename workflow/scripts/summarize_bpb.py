"""Adapter: one table of test BPB for every model and compressor, with family, variant, FLOPs per
byte, training FLOPs, parameters by part and bytes per chunk; and one table of every model's
scores per language."""

import json

import pandas as pd

from byteword.models import describe_variant
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
models = pd.concat([pd.read_parquet(p) for p in snakemake.input.models], ignore_index=True)
metas = [json.loads(open(p).read()) for p in snakemake.input.meta]
extra = pd.DataFrame([{"model": m["model"]["name"], "seed": str(m["seed"]), "variant": describe_variant(m["model"]),
                       "flops_per_byte": m["flops_per_byte"], "train_flops": m["train_flops"],
                       "lr": m["training"]["lr"], **{k: v for k, v in m.items() if k.startswith("params_")}}
                      for m in metas])
models = models.merge(extra, on=["model", "seed"], how="left").assign(kind="model")
models["bytes_per_chunk"] = (models["n_bytes"] / models["n_chunks"]).where(models["n_chunks"] > 0)
compressors = pd.read_parquet(snakemake.input.compressors)
compressors = compressors.assign(model=compressors["compressor"], family="compressor", kind="compressor")
table = pd.concat([models, compressors.drop(columns=["compressor", "level", "compressed_bytes"])], ignore_index=True)
print(table[["model", "variant", "value", "ci_low", "ci_high", "flops_per_byte", "bytes_per_chunk"]].to_string())
write_parquet(table, snakemake.output.bpb)

languages = pd.concat([pd.read_parquet(p) for p in snakemake.input.languages], ignore_index=True)
print(languages[["model", "language", "bpb", "ci_low", "ci_high", "bytes_per_chunk"]].to_string())
write_parquet(languages, snakemake.output.languages)
