"""Test BPB of every model with document-level (and seed-aware) intervals, and the paired difference of
every two models on the same resampled documents.

Input: a long table of per-window rows, one per model, seed and window: ``model``, ``seed`` (missing,
NaN or "" for a deterministic baseline), ``window``, ``doc`` (the test document the window belongs to,
the independent unit), ``nll_nats`` and ``n_bytes``. Every model must have scored the same windows.
One ``DocumentResamples`` is drawn for the whole table, so every interval and every difference comes
from the same resampled test sets."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from byteword.evaluation.bootstrap import DocumentResamples, Runs, bpb_interval, difference_interval

COLUMNS = ("model", "window", "doc", "nll_nats", "n_bytes")
WINDOW_KEYS = ["window", "doc", "n_bytes"]  # what two models must share, window by window


class BPBTables(NamedTuple):
    summary: pd.DataFrame  # one row per model
    runs: pd.DataFrame  # one row per model and seed: that run's BPB with its document interval
    paired: pd.DataFrame  # one row per ordered pair of distinct models


def seed_label(value) -> str:
    """A run's seed as a string ("0"), or "" for a deterministic run (seed missing, NaN or "")."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a seed column read as float because baselines left it empty
    return str(value)


def check_columns(rows: pd.DataFrame) -> None:
    missing = [c for c in COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"per-window rows lack column(s) {', '.join(missing)} (have {', '.join(rows.columns)})")
    if rows["nll_nats"].isna().any():
        raise ValueError(f"NaN nll_nats in the windows of {sorted(set(rows.loc[rows['nll_nats'].isna(), 'model']))}")


def window_mismatch(ref: pd.DataFrame, other: pd.DataFrame) -> str | None:
    """What differs between two runs' (window, doc, n_bytes) tables, both sorted by window; None if nothing."""
    if len(ref) != len(other):
        return f"{len(ref)} windows against {len(other)}"
    for key in WINDOW_KEYS:
        differs = np.flatnonzero(ref[key].to_numpy() != other[key].to_numpy())
        if len(differs):
            i = differs[0]
            return (f"{len(differs)} windows differ in {key!r}, the first at row {i}: "
                    f"{ref[key].iloc[i]} against {other[key].iloc[i]}")
    return None


def aligned_runs(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[list[str], np.ndarray]]]:
    """The shared windows (window, doc, n_bytes; sorted by window) and, per model in order of appearance,
    its seed labels ("" for none) and (S, n_windows) NLL aligned to those windows, seeds in order. Refuses,
    naming both models, any run whose windows, documents or byte counts differ from the first run's."""
    check_columns(rows)
    rows = rows.assign(seed=[seed_label(s) for s in rows["seed"]] if "seed" in rows else "")
    reference, ref_name, runs = None, None, {}
    for (model, seed), run in rows.groupby(["model", "seed"], sort=False):
        run = run.sort_values("window", kind="stable").reset_index(drop=True)
        name = f"{model} (seed {seed})" if seed else model
        if run["window"].duplicated().any():
            raise ValueError(f"{name} scored window {run.loc[run['window'].duplicated(), 'window'].iloc[0]} twice")
        if reference is None:
            reference, ref_name = run[WINDOW_KEYS], name
        elif (mismatch := window_mismatch(reference, run)) is not None:
            raise ValueError(f"models {ref_name} and {name} did not score the same windows: {mismatch}")
        runs.setdefault(model, []).append((seed, run["nll_nats"].to_numpy(dtype=np.float64)))
    ordered = {}
    for model, seeds in runs.items():
        labels = [label for label, _ in seeds]
        if "" in labels and len(labels) > 1:
            raise ValueError(f"model {model} mixes a run without a seed with runs with seeds {labels}")
        seeds.sort(key=lambda s: (len(s[0]), s[0]))  # numeric seeds in numeric order, whatever the file order
        ordered[model] = ([label for label, _ in seeds], np.stack([x for _, x in seeds]))  # (S, n_windows)
    return reference, ordered


def resampled_runs(rows: pd.DataFrame, n_resamples: int = 1000,
                   seed: int = 0) -> tuple[DocumentResamples, dict[str, Runs]]:
    """One draw of the rows' documents and every model's runs on it, models in order of appearance."""
    windows, nll = aligned_runs(rows)
    docs = DocumentResamples.draw(windows["n_bytes"], windows["doc"], n_resamples, seed)
    # a run without a seed (a baseline) is labelled None: it pairs by documents only
    return docs, {model: docs.runs(x, [label or None for label in labels]) for model, (labels, x) in nll.items()}


def summary_rows(docs: DocumentResamples, runs: dict[str, Runs], level: float) -> pd.DataFrame:
    return pd.DataFrame([{"model": model, **bpb_interval(docs, r, level), "n_docs": docs.n_docs,
                          "n_bytes": int(docs.total_bytes)} for model, r in runs.items()])


def run_rows(docs: DocumentResamples, runs: dict[str, Runs], level: float) -> pd.DataFrame:
    """Each run on its own: its BPB and document interval (what a single-seed number claims)."""
    rows = []
    for model, r in runs.items():
        for i, label in enumerate(r.labels):
            one = Runs((label,), r.totals[i : i + 1], r.resampled[:, i : i + 1])
            result = bpb_interval(docs, one, level)
            rows.append({"model": model, "seed": label or "",
                         **{k: result[k] for k in ("value", "ci_low", "ci_high")}, "n_docs": docs.n_docs})
    return pd.DataFrame(rows)


def antisymmetric_pairs(models: list[str], interval) -> pd.DataFrame:
    """Every ordered pair (a, b), a != b, of ``models``: ``interval(a, b)`` -> {"value", "ci_low",
    "ci_high", "paired_seeds"} is computed once per unordered pair and its mirror negated, so the matrix
    is exactly antisymmetric. Columns model_a, model_b, value, ci_low, ci_high, paired_seeds."""
    rows = []
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            d = interval(a, b)
            mirror = {"value": -d["value"], "ci_low": -d["ci_high"], "ci_high": -d["ci_low"]}
            for first, second, r in ((a, b, d), (b, a, mirror)):
                rows.append({"model_a": first, "model_b": second, "value": r["value"] + 0.0,  # + 0.0: no -0.0
                             "ci_low": r["ci_low"] + 0.0, "ci_high": r["ci_high"] + 0.0,
                             "paired_seeds": d["paired_seeds"]})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "value", "ci_low", "ci_high", "paired_seeds"])


def paired_rows(docs: DocumentResamples, runs: dict[str, Runs], level: float) -> pd.DataFrame:
    """Every ordered pair (a, b), a != b: metric "bpb", value BPB_a - BPB_b, each unordered pair resampled
    once (``antisymmetric_pairs``); ``n_comparisons`` counts unordered pairs."""
    models = list(runs)
    n_comparisons = len(models) * (len(models) - 1) // 2
    paired = antisymmetric_pairs(models, lambda a, b: difference_interval(docs, runs[a], runs[b], level))
    paired.insert(2, "metric", "bpb")
    rank = {m: i for i, m in enumerate(models)}  # rows in matrix order: by model_a, then model_b
    paired = paired.sort_values(["model_a", "model_b"], key=lambda col: col.map(rank), ignore_index=True)
    paired["excludes_zero"] = (paired["ci_low"] > 0) | (paired["ci_high"] < 0)  # False for a NaN interval
    return paired.assign(n_docs=docs.n_docs, n_comparisons=n_comparisons)


def bpb_tables(rows: pd.DataFrame, n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> BPBTables:
    """The summary (model, value, ci_low, ci_high, seed_sd, n_seeds, n_docs, n_bytes), the per-run table
    (model, seed, value, ci_low, ci_high, n_docs) and the paired table (model_a, model_b, metric "bpb",
    value = the difference, ci_low, ci_high, paired_seeds, excludes_zero, n_docs, n_comparisons), all from one draw of documents."""
    docs, runs = resampled_runs(rows, n_resamples, seed)
    return BPBTables(summary_rows(docs, runs, level), run_rows(docs, runs, level), paired_rows(docs, runs, level))


# --- the test-BPB table of the summary -------------------------------------------------------------------

MODEL_COLUMNS = {"value": "model_value", "ci_low": "model_ci_low", "ci_high": "model_ci_high"}


def seed_aware(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per ``keys`` (the first of a model's seeds), with its model's seed-aware numbers
    (``model_value`` and its interval) in value, ci_low and ci_high wherever the summary has them."""
    rows = rows.drop_duplicates(keys).copy()
    if "model_value" in rows:
        has = rows["model_value"].notna()
        for column, model_column in MODEL_COLUMNS.items():
            rows.loc[has, column] = rows.loc[has, model_column]
    return rows
IDENTITY = ["experiment", "corpus", "tokenizer", "config_hash", "code_version"]


def model_level(tables: BPBTables) -> pd.DataFrame:
    """Each model's seed-aware numbers: model, model_value, model_ci_low, model_ci_high, seed_sd, n_seeds."""
    return tables.summary.rename(columns=MODEL_COLUMNS)[["model", *MODEL_COLUMNS.values(), "seed_sd", "n_seeds"]]


def run_summary(tables: BPBTables) -> pd.DataFrame:
    """The per-run rows of ``tables`` (model, seed, value, ci_low, ci_high, n_docs) with their model's
    seed-aware numbers beside (``model_level``)."""
    return tables.runs.merge(model_level(tables), on="model", how="left", validate="many_to_one")


def with_intervals(runs: pd.DataFrame, tables: BPBTables, tolerance: float = 1e-9) -> pd.DataFrame:
    """Per-run test-BPB rows (model, seed, value, ...) with the intervals of ``tables``: ci_low and ci_high
    become the run's document interval (replacing any the evaluation wrote, so every row of the summary
    comes from the same resamples), and each row gets n_docs and its model's seed-aware numbers beside:
    model_value, model_ci_low, model_ci_high, seed_sd, n_seeds. Refuses a run whose BPB differs from that
    of its windows (a stale table)."""
    runs = runs.drop(columns=[c for c in ("ci_low", "ci_high", "n_docs") if c in runs])
    runs = runs.assign(seed=[seed_label(s) for s in runs["seed"]])
    doc = tables.runs.rename(columns={"value": "windows_value"})
    runs = runs.merge(doc, on=["model", "seed"], how="left", validate="one_to_one")
    off = (runs["windows_value"] - runs["value"]).abs() > tolerance * runs["value"].abs()
    if off.any() or runs["windows_value"].isna().any():
        bad = runs.loc[off | runs["windows_value"].isna(), ["model", "seed", "value", "windows_value"]]
        raise ValueError(f"test BPB and per-window tables disagree (or windows are missing):\n{bad.to_string()}")
    runs = runs.drop(columns="windows_value").merge(model_level(tables), on="model", how="left",
                                                    validate="many_to_one")
    order = list(runs.columns.drop(["ci_low", "ci_high"]))  # the interval back beside its value
    at = order.index("value") + 1
    return runs[order[:at] + ["ci_low", "ci_high"] + order[at:]]


def baseline_rows(windows: pd.DataFrame, tables: BPBTables) -> pd.DataFrame:
    """One test-BPB row per baseline of a per-window baselines table (model, window, nll_nats, n_bytes, ...):
    kind "baseline", its BPB and document interval in value, ci_low, ci_high (and model_* beside, as for
    the models), n_bytes, n_windows, nll_nats, and the identifying columns the table carries."""
    names = list(dict.fromkeys(windows["model"]))
    by_model = windows.groupby("model", sort=False)
    totals = by_model.agg(nll_nats=("nll_nats", "sum"), n_windows=("window", "size"))
    identity = by_model[[c for c in [*IDENTITY, "family"] if c in windows]].first()
    rows = tables.summary[tables.summary["model"].isin(names)].set_index("model").join(totals).join(identity)
    rows = rows.reset_index()
    for column, model_column in MODEL_COLUMNS.items():  # a baseline is its own seed-aware number
        rows[model_column] = rows[column]
    if "family" not in rows:
        rows["family"] = "baseline"
    labels = by_model["seed"].first().map(seed_label) if "seed" in windows else pd.Series(dtype=str)
    rows["seed"] = rows["model"].map(labels).fillna("")  # a baseline counted on one run's draws keeps its seed
    return rows.assign(kind="baseline", split="test", metric="bpb")


def models_and_baselines(runs: pd.DataFrame, windows: pd.DataFrame, baselines: pd.DataFrame,
                         n_resamples: int = 1000, level: float = 0.95) -> tuple[pd.DataFrame, BPBTables]:
    """One draw of documents for the models' and the baselines' per-window rows: ``runs`` (one row per
    model and seed) with their intervals and seed-aware numbers (``with_intervals``), followed by a row
    per baseline (``baseline_rows``, none when ``baselines`` is empty), and the ``BPBTables``."""
    tables = bpb_tables(pd.concat([windows, baselines], ignore_index=True), n_resamples, level)
    rows = [with_intervals(runs, tables)] + ([baseline_rows(baselines, tables)] if len(baselines) else [])
    return pd.concat(rows, ignore_index=True), tables
