"""Adapter: the summary of one evaluation (``params.evaluation``) over every model, with intervals over
resampled documents (and seeds) and paired differences on the same resamples:

- languages: every model's and baseline's BPB per language, intervals over documents (or blocks of one
  long document), and the model's bytes per chunk;
- noise: the same per perturbation (metric bpb), plus what each loses against the clean text (metrics
  bpb_shift and bpb_ratio), and per pair the difference of their losses (metric bpb_shift);
- next_word: accuracy and the word's BPB by training-frequency bucket, intervals over articles."""

import pandas as pd

from byteword.evaluation.conditions import condition_summary, shift_tables
from byteword.evaluation.next_word import next_word_tables
from byteword.provenance import write_parquet
from byteword.workflow_io import log_to


def read(paths) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def languages(runs, windows, baselines, resamples):
    return condition_summary(runs, windows, baselines, "language", n_resamples=resamples)


def noise(runs, windows, baselines, resamples):
    table, paired = condition_summary(runs, windows, baselines, "perturbation", n_resamples=resamples)
    shifts, paired_shifts = shift_tables(pd.concat([windows, baselines], ignore_index=True), "perturbation",
                                         "clean", n_resamples=resamples)
    # a loss is a model's, over its seeds: its rows carry the model's identity, not one run's
    models = table.drop_duplicates("model").set_index("model")
    shifts = shifts.assign(**{c: shifts["model"].map(models[c]) for c in ("kind", "family", "experiment", "corpus",
                                                                          "tokenizer") if c in models})
    rates = runs.drop_duplicates("perturbation").set_index("perturbation")["rate"]
    table = pd.concat([table.assign(metric="bpb"), shifts], ignore_index=True)
    return table.assign(rate=table["perturbation"].map(rates)), pd.concat([paired, paired_shifts], ignore_index=True)


def next_word(rows, windows, baselines, resamples):
    table, paired = next_word_tables(rows, n_resamples=resamples)
    families = rows.drop_duplicates("model").set_index("model")["family"]
    return table.assign(family=table["model"].map(families), experiment=rows["experiment"].iloc[0],
                        corpus=rows["corpus"].iloc[0]), paired


log_to(snakemake.log[0])
summarize = {"languages": languages, "noise": noise, "next_word": next_word}[snakemake.params.evaluation]
models = read(snakemake.input.models).assign(kind="model")
windows = read(snakemake.input.windows) if snakemake.input.windows else None
baselines = pd.read_parquet(snakemake.input.baselines) if snakemake.input.baselines else None
table, paired = summarize(models, windows, baselines, snakemake.params.resamples)
with pd.option_context("display.width", 250, "display.max_columns", 12, "display.max_rows", 400):
    print(table.drop(columns=[c for c in table if c.startswith(("experiment", "corpus", "config", "code"))]))
    print(paired)
write_parquet(table, snakemake.output.summary)
write_parquet(paired, snakemake.output.paired)
