"""BPB under several conditions (perturbations, languages): per-condition tables, losses against the clean
text with known answers, and refusals."""

import math

import numpy as np
import pandas as pd
import pytest

from byteword.evaluation.conditions import condition_summary, shift_tables

RNG = np.random.default_rng(3)


def windows_of(condition: str, n_docs: int, per_doc: int, model: str, nats_per_byte, seed="0") -> pd.DataFrame:
    """Per-window rows: n_docs documents of per_doc windows of 5-20 bytes, each window costing
    ``nats_per_byte`` (a number, or one per document) per byte."""
    docs = np.repeat(np.arange(n_docs), per_doc)
    n_bytes = np.random.default_rng(len(condition) + per_doc).integers(5, 20, len(docs))
    rate = np.broadcast_to(np.asarray(nats_per_byte, float), (n_docs,))[docs]
    return pd.DataFrame({"perturbation": condition, "model": model, "seed": seed, "window": range(len(docs)),
                         "doc": docs, "nll_nats": rate * n_bytes, "n_bytes": n_bytes})


def test_a_loss_of_c_nats_per_byte_is_a_point_interval_and_pairs_cancel_the_documents():
    # documents differ a lot (0.5-3 nats per byte), each model loses a fixed amount on every document
    clean_rate = RNG.uniform(0.5, 3, 6)
    rows = pd.concat([windows_of("clean", 6, 3, "a", clean_rate), windows_of("clean", 6, 3, "b", clean_rate + 0.2),
                      windows_of("drop", 6, 4, "a", clean_rate + 1.0), windows_of("drop", 6, 4, "b", clean_rate + 0.7)])
    models, pairs = shift_tables(rows, n_resamples=300)
    a = models.set_index(["model", "metric"]).loc[("a", "bpb_shift")]
    assert a["value"] > 0 and a["ci_low"] < a["ci_high"]  # the mix of documents moves each loss
    assert (pairs["metric"] == "bpb_shift").all()
    pair = pairs.set_index(["model_a", "model_b"])
    # a loses 1.0 nat per byte, b 0.5: on any resample, a's loss minus b's is exactly 0.5 / ln 2 bits
    expected = 0.5 / math.log(2)
    assert pair.loc[("a", "b"), ["value", "ci_low", "ci_high"]].to_numpy(float) == pytest.approx(expected, abs=1e-9)
    assert pair.loc[("b", "a"), "value"] == pytest.approx(-expected) and pair["excludes_zero"].all()


def test_a_model_that_loses_nothing_has_a_shift_of_exactly_zero_and_a_ratio_of_one():
    rate = RNG.uniform(0.5, 3, 5)  # "unset" is as long as "clean", so its windows get the same bytes
    rows = pd.concat([windows_of("clean", 5, 2, "a", rate), windows_of("unset", 5, 2, "a", rate)])
    model = shift_tables(rows, n_resamples=100)[0].set_index("metric")[["value", "ci_low", "ci_high"]]
    assert tuple(model.loc["bpb_shift"]) == pytest.approx((0, 0, 0), abs=1e-12)
    assert tuple(model.loc["bpb_ratio"]) == pytest.approx((1, 1, 1))


def test_shifts_refuse_other_documents_and_a_missing_reference():
    rows = pd.concat([windows_of("clean", 5, 2, "a", 1.0), windows_of("drop", 4, 2, "a", 1.0)])
    with pytest.raises(ValueError, match="'drop' scores other documents than 'clean'"):
        shift_tables(rows)
    with pytest.raises(ValueError, match="no perturbation 'clean'"):
        shift_tables(windows_of("drop", 4, 2, "a", 1.0))


def test_the_summary_has_every_model_and_baseline_per_condition_with_paired_rows():
    rows = {c: [windows_of(c, 5, 2, m, r, seed) for m, r, seed in (("a", 1.0, "0"), ("a", 1.1, "1"), ("b", 2.0, "0"),
                                                                  ("b", 2.2, "1"))] for c in ("clean", "caps")}
    windows = pd.concat([w for ws in rows.values() for w in ws], ignore_index=True)
    baselines = pd.concat([windows_of(c, 5, 2, "ngram", 1.5, "") for c in rows], ignore_index=True)
    sums = windows.groupby(["perturbation", "model", "seed"], sort=False)[["nll_nats", "n_bytes"]].sum()
    runs = (sums["nll_nats"] / (math.log(2) * sums["n_bytes"])).rename("value").reset_index().assign(kind="model")
    table, paired = condition_summary(runs, windows, baselines, "perturbation", n_resamples=100)
    assert len(table) == 2 * (4 + 1) and set(table.loc[table.kind == "baseline", "model"]) == {"ngram"}
    a = table[(table.model == "a") & (table.perturbation == "caps")]
    assert (a["n_seeds"] == 2).all() and a["seed_sd"].iloc[0] > 0  # the seed-aware numbers sit beside each run
    assert len(paired) == 2 * 3 * 2 and set(paired.perturbation) == {"clean", "caps"}
    pair = paired.set_index(["perturbation", "model_a", "model_b"]).loc[("clean", "b", "a")]
    assert pair["paired_seeds"] == 2 and pair["excludes_zero"]
    with pytest.raises(ValueError, match="condition column 'language'"):
        condition_summary(runs, windows, baselines, "language")
