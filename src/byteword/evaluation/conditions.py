"""BPB under several conditions of the test text (perturbations of the same articles, or text in other
languages): for each condition, every model and baseline with intervals over documents and seeds and
the paired difference of every two; and, for perturbations, what each model loses against the clean
text, with the paired difference of two models' losses.

Input: per-window rows as for ``paired.bpb_tables`` plus a condition column (``perturbation`` or
``language``). Within one condition every model scores the same windows. Each condition draws its
documents with the same seed, so conditions over the same documents (a perturbation and the clean
text) draw the very same resampled articles, and a loss is one bootstrap, not two."""

from __future__ import annotations

import numpy as np
import pandas as pd

from byteword.evaluation.bootstrap import bpb_samples, difference_samples, document_interval, mean_bpb
from byteword.evaluation.paired import antisymmetric_pairs, models_and_baselines, resampled_runs


def condition_summary(runs: pd.DataFrame, windows: pd.DataFrame, baselines: pd.DataFrame, column: str,
                      n_resamples: int = 1000, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary and paired tables over conditions: ``runs`` holds one row per model, seed and condition
    with its BPB in ``value`` (the evaluations' own tables); ``windows`` and ``baselines`` the per-window
    rows of the models and of the baselines. Each row of the summary gets its run's document interval and
    its model's seed-aware numbers (``paired.with_intervals``); the baselines are rows of their own."""
    for name, frame in (("model", windows), ("baseline", baselines)):
        if column not in frame:
            raise ValueError(f"{name} per-window rows lack the condition column {column!r} "
                             f"(have {', '.join(frame.columns)})")
    summary, paired = [], []
    for cond in dict.fromkeys(windows[column]):
        rows, t = models_and_baselines(runs[runs[column] == cond], windows[windows[column] == cond],
                                       baselines[baselines[column] == cond], n_resamples, level)
        summary.append(rows.assign(**{column: cond}))
        paired.append(t.paired.assign(**{column: cond}))
    return pd.concat(summary, ignore_index=True), pd.concat(paired, ignore_index=True)


def shift_tables(rows: pd.DataFrame, column: str = "perturbation", reference: str = "clean", n_resamples: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What each condition costs against ``reference`` on the same documents.

    Per model and condition, two rows: metric "bpb_shift" = BPB(condition) - BPB(reference) and
    "bpb_ratio" = BPB(condition) / BPB(reference), each with an interval over the same resampled
    documents (and seeds) for both. Per pair of models, metric "bpb_shift": shift_a - shift_b, whose
    interval says whether one model loses more than another; a model that starts worse can lose less in
    ratio and still score worse."""
    parts = dict(tuple(rows.groupby(column, sort=False)))
    if reference not in parts:
        raise ValueError(f"no {column} {reference!r} to measure the others against (have {', '.join(parts)})")
    base_docs, base_runs = resampled_runs(parts.pop(reference), n_resamples, seed)
    base_ids = np.unique(rows.loc[rows[column] == reference, "doc"])
    before = {m: (mean_bpb(base_docs, r), bpb_samples(base_docs, r)) for m, r in base_runs.items()}  # once each
    base_pairs = {}  # (a, b) -> the reference's difference and its resamples, drawn once for every condition
    models, pairs = [], []
    for cond, part in parts.items():
        if not np.array_equal(np.unique(part["doc"]), base_ids):
            raise ValueError(f"{column} {cond!r} scores other documents than {reference!r}: "
                             "a shift needs the same ones")
        docs, runs = resampled_runs(part, n_resamples, seed)
        if set(runs) != set(base_runs):
            raise ValueError(f"{column} {cond!r} has models {sorted(runs)}, {reference!r} has {sorted(base_runs)}")
        for model, r in runs.items():
            (value_before, samples_before), value_after = before[model], mean_bpb(docs, r)
            samples_after = bpb_samples(docs, r)
            shift_low, shift_high = document_interval(samples_after - samples_before, docs.n_docs, level)
            ratio_low, ratio_high = document_interval(samples_after / samples_before, docs.n_docs, level)
            models += [{column: cond, "model": model, "metric": "bpb_shift", "value": value_after - value_before,
                        "ci_low": shift_low, "ci_high": shift_high},
                       {column: cond, "model": model, "metric": "bpb_ratio", "value": value_after / value_before,
                        "ci_low": ratio_low, "ci_high": ratio_high}]

        def shift_difference(a, b):
            value, samples, paired = difference_samples(docs, runs[a], runs[b])
            if (a, b) not in base_pairs:
                base_pairs[a, b] = difference_samples(base_docs, base_runs[a], base_runs[b])[:2]
            value0, samples0 = base_pairs[a, b]
            low, high = document_interval(samples - samples0, docs.n_docs, level)
            return {"value": value - value0, "ci_low": low, "ci_high": high, "paired_seeds": paired}

        pairs.append(antisymmetric_pairs(list(runs), shift_difference).assign(**{column: cond}))
    pairs = pd.concat(pairs, ignore_index=True) if pairs else antisymmetric_pairs([], None).assign(**{column: None})
    pairs = pairs.assign(metric="bpb_shift")[[column, "model_a", "model_b", "metric", "value", "ci_low", "ci_high",
                                              "paired_seeds"]]
    pairs["excludes_zero"] = (pairs["ci_low"] > 0) | (pairs["ci_high"] < 0)
    return pd.DataFrame(models), pairs
