"""Adapter: one result table as Markdown (byteword.tables), for the docs pages."""

from pathlib import Path

import pandas as pd

from byteword.tables import render
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
text = render(snakemake.wildcards.table, pd.read_parquet(snakemake.input[0]))
print(text)
Path(snakemake.output[0]).write_text(text, encoding="utf-8")
