"""Adapter: gzip, bz2 and lzma at their highest levels on the concatenated evaluation windows of the
test split (the very bytes every model is scored on)."""

import pandas as pd

from byteword.corpus import read_split
from byteword.data import document_windows
from byteword.evaluation.compressors import compressor_bpb
from byteword.provenance import with_provenance, write_parquet
from byteword.workflow_io import log_to

log_to(snakemake.log[0])
windows = document_windows(read_split(snakemake.input.test)["text"], snakemake.params.context_bytes,
                           snakemake.params.test_bytes)
rows = pd.DataFrame(compressor_bpb(b"".join(windows)))
print(rows)
rows = rows.rename(columns={"bpb": "value"}).assign(metric="bpb", split="test")
write_parquet(with_provenance(rows, experiment=snakemake.config["experiment"], corpus=snakemake.wildcards.corpus),
              snakemake.output[0])
