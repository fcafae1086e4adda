"""Adapter: draw one figure (named in params) from its Parquet inputs."""

import pandas as pd

from byteword.plotting import FIGURES
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
data = pd.concat([pd.read_parquet(p) for p in snakemake.input], ignore_index=True)
fig = FIGURES[snakemake.params.figure](data)
fig.savefig(snakemake.output[0], dpi=120)
print(f"wrote {snakemake.output[0]} from {len(data)} rows")
