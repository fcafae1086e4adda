"""Intervals of bits per byte over resampled documents and seeds, and paired differences: known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from byteword.evaluation.bootstrap import (paired_difference, ratio_ci, resample_indices, seed_bpb,
                                           seed_paired_difference)
from byteword.evaluation.bpb import bits_per_byte
from byteword.evaluation.paired import baseline_rows, bpb_tables, with_intervals

LN2 = math.log(2)


def windows(n_docs=30, per_doc=8, seed=0, integer=False):
    """(nll, n_bytes, doc) of n_docs documents of per_doc windows each; integer NLLs keep every sum exact."""
    rng = np.random.default_rng(seed)
    n_bytes = rng.integers(20, 200, n_docs * per_doc)
    rate = rng.uniform(0.5, 1.5, len(n_bytes))
    nll = rng.integers(10, 300, len(n_bytes)).astype(float) if integer else n_bytes * rate
    return nll, n_bytes, np.repeat(np.arange(n_docs), per_doc)


def bootstrap_ci(nll_nats, n_bytes, n_resamples: int = 1000, level: float = 0.95, seed: int = 0):
    """The reference: a percentile interval of BPB over windows resampled with replacement, each window on
    its own (a ratio of sums each time)."""
    nll_nats, n_bytes = np.asarray(nll_nats, float), np.asarray(n_bytes, float)
    idx = resample_indices(len(nll_nats), n_resamples, seed)
    samples = nll_nats[idx].sum(1) / (LN2 * n_bytes[idx].sum(1))
    alpha = (1 - level) / 2
    return float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))


def long_rows(runs: dict, n_bytes, doc) -> pd.DataFrame:
    """Per-window rows of {(model, seed): nll}; seed None for a baseline (written as NaN)."""
    return pd.concat([pd.DataFrame({"model": m, "seed": np.nan if s is None else str(s), "window": np.arange(len(nll)),
                                    "doc": doc, "nll_nats": nll, "n_bytes": n_bytes})
                      for (m, s), nll in runs.items()], ignore_index=True)


def test_cluster_bootstrap_with_every_window_its_own_document_is_the_window_bootstrap():
    nll, n_bytes, _ = windows(integer=True)  # whole numbers: both sums are exact, so equality is exact
    singletons = np.arange(len(nll))
    assert ratio_ci(nll, n_bytes, singletons, 500, seed=4) == bootstrap_ci(nll, n_bytes, 500, seed=4)
    nll, n_bytes, _ = windows()  # real-valued NLLs: the same draws, sums in another order
    assert ratio_ci(nll, n_bytes, singletons, 500, seed=4) == pytest.approx(bootstrap_ci(nll, n_bytes, 500, seed=4),
                                                                            rel=1e-12)


def test_cluster_bootstrap_is_wider_when_a_documents_windows_are_alike():
    rng = np.random.default_rng(0)
    n_docs, per_doc = 40, 25
    n_bytes = rng.integers(100, 200, n_docs * per_doc)
    rate = np.repeat(rng.uniform(0.6, 2.0, n_docs), per_doc)  # each document's own difficulty, shared by its windows
    nll = n_bytes * rate * rng.uniform(0.98, 1.02, len(n_bytes))
    doc = np.repeat(np.arange(n_docs), per_doc)
    low_w, high_w = bootstrap_ci(nll, n_bytes, 1000)
    low_d, high_d = ratio_ci(nll, n_bytes, doc, 1000)
    assert low_d <= bits_per_byte(nll, n_bytes) <= high_d
    assert high_d - low_d > 3 * (high_w - low_w)  # ~sqrt(per_doc) wider: the windows are one document's sample


def test_a_model_against_itself_differs_by_exactly_zero():
    nll, n_bytes, doc = windows()
    assert paired_difference(nll, nll, n_bytes, doc) == {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    by_seed = np.stack([nll, nll * 1.1, nll * 0.9])
    d = seed_paired_difference(by_seed, by_seed, n_bytes, doc)
    assert (d["value"], d["ci_low"], d["ci_high"], d["paired_seeds"]) == (0.0, 0.0, 0.0, 3)
    tables = bpb_tables(long_rows({("a", 0): nll, ("twin", 0): nll.copy()}, n_bytes, doc), 200)
    row = tables.paired.iloc[0]
    assert (row["value"], row["ci_low"], row["ci_high"], row["excludes_zero"]) == (0.0, 0.0, 0.0, False)


def test_with_one_seed_the_seed_aware_interval_is_the_document_interval():
    nll, n_bytes, doc = windows()
    result = seed_bpb(nll[None, :], n_bytes, doc, 400, seed=2)
    assert (result["ci_low"], result["ci_high"]) == ratio_ci(nll, n_bytes, doc, 400, seed=2)
    assert result["value"] == bits_per_byte(nll, n_bytes)
    assert math.isnan(result["seed_sd"]) and result["n_seeds"] == 1
    summary = bpb_tables(long_rows({("a", 0): nll}, n_bytes, doc), 400, seed=2).summary.iloc[0]
    assert (summary["ci_low"], summary["ci_high"]) == (result["ci_low"], result["ci_high"])
    assert math.isnan(summary["seed_sd"]) and summary["n_docs"] == 30 and summary["n_bytes"] == n_bytes.sum()


def test_seeds_widen_the_interval_and_their_spread_is_reported():
    nll, n_bytes, doc = windows()
    by_seed = np.stack([nll * f for f in (0.9, 1.0, 1.1)])  # runs far apart: seed variance dominates
    result = seed_bpb(by_seed, n_bytes, doc, 1000)
    per_seed = [bits_per_byte(x, n_bytes) for x in by_seed]
    assert result["value"] == pytest.approx(np.mean(per_seed), rel=1e-12)
    assert result["seed_sd"] == pytest.approx(np.std(per_seed, ddof=1), rel=1e-12)
    low, high = ratio_ci(nll, n_bytes, doc, 1000)
    assert result["ci_high"] - result["ci_low"] > 2 * (high - low)


def test_a_constant_difference_per_byte_is_a_point_interval_at_its_value():
    nll, n_bytes, doc = windows(integer=True)
    expected = -0.25 / LN2  # b = a + 0.25 nats on every byte: BPB_a - BPB_b, exact in whole and quarter numbers
    d = paired_difference(nll, nll + 0.25 * n_bytes, n_bytes, doc)
    assert d == {"value": expected, "ci_low": expected, "ci_high": expected}
    row = bpb_tables(long_rows({("a", 0): nll, ("b", 0): nll + 0.25 * n_bytes}, n_bytes, doc), 300).paired.iloc[0]
    assert (row["value"], row["ci_low"], row["ci_high"], row["excludes_zero"]) == (expected,) * 3 + (True,)
    nll, n_bytes, doc = windows()  # real values: the same up to rounding
    d = paired_difference(nll, nll + 0.3 * n_bytes, n_bytes, doc)
    assert [d["value"], d["ci_low"], d["ci_high"]] == pytest.approx([-0.3 / LN2] * 3, rel=1e-12)


def test_seeds_pair_by_label_so_a_shared_seed_effect_cancels():
    nll, n_bytes, doc = windows(integer=True)
    seed_effect = np.array([0.0, 0.5, 1.0])[:, None] * n_bytes  # (3, n): a seed shifts both models alike
    a, b = nll + seed_effect, nll + seed_effect + 0.25 * n_bytes
    paired = seed_paired_difference(a, b[::-1], n_bytes, doc, seeds_a=[0, 1, 2], seeds_b=[2, 1, 0])  # by label
    assert paired["ci_low"] == paired["ci_high"] == -0.25 / LN2 and paired["paired_seeds"] == 3
    for seeds_b in ([3, 4, 5], [0, 1, 5]):  # other seeds: each model's seeds drawn on their own, none dropped
        apart = seed_paired_difference(a, b, n_bytes, doc, seeds_a=[0, 1, 2], seeds_b=seeds_b)
        assert apart["paired_seeds"] == 0 and apart["ci_high"] - apart["ci_low"] > 0.1
        assert apart["value"] == pytest.approx(-0.25 / LN2, rel=1e-12)
        assert apart["ci_low"] < apart["value"] < apart["ci_high"]


def test_tables_hold_every_model_and_every_ordered_pair():
    nll, n_bytes, doc = windows()
    runs = {("bytes", 1): nll, ("bytes", 0): nll * 1.01, ("bpe", 0): nll * 0.95, ("bpe", 1): nll * 0.96,
            ("ngram", None): nll * 1.2}
    tables = bpb_tables(long_rows(runs, n_bytes, doc).sample(frac=1, random_state=0), 300)  # any row order
    summary = tables.summary.set_index("model")
    assert list(summary.columns) == ["value", "ci_low", "ci_high", "seed_sd", "n_seeds", "n_docs", "n_bytes"]
    assert summary["n_seeds"].to_dict() == {"bytes": 2, "bpe": 2, "ngram": 1}
    assert math.isnan(summary.loc["ngram", "seed_sd"]) and summary.loc["bytes", "seed_sd"] > 0
    assert (summary["ci_low"] <= summary["value"]).all() and (summary["value"] <= summary["ci_high"]).all()
    assert sorted(zip(tables.runs["model"], tables.runs["seed"])) == [("bpe", "0"), ("bpe", "1"), ("bytes", "0"),
                                                                      ("bytes", "1"), ("ngram", "")]
    paired = tables.paired.set_index(["model_a", "model_b"])
    assert len(paired) == 6 and (paired["n_comparisons"] == 3).all() and (paired["n_docs"] == 30).all()
    for (a, b), row in paired.iterrows():  # exactly antisymmetric
        mirror = paired.loc[(b, a)]
        assert (row["value"], row["ci_low"], row["ci_high"]) == (-mirror["value"], -mirror["ci_high"],
                                                                      -mirror["ci_low"])
        assert row["value"] == pytest.approx(summary.loc[a, "value"] - summary.loc[b, "value"], rel=1e-9)
    assert paired.loc[("bytes", "bpe"), "paired_seeds"] == 2 and paired.loc[("bytes", "ngram"), "paired_seeds"] == 0
    assert paired.loc[("bytes", "bpe"), "excludes_zero"]


@pytest.mark.parametrize("change, message", [
    (lambda w: w.assign(n_bytes=w["n_bytes"].where(w["window"] != 5, w["n_bytes"] + 1)), "differ in 'n_bytes'"),
    (lambda w: w.assign(doc=w["doc"].where(w["window"] != 5, 99)), "differ in 'doc'"),
    (lambda w: w[w["window"] != 5], "240 windows against 239"),
])
def test_the_paired_table_refuses_models_that_scored_other_windows(change, message):
    nll, n_bytes, doc = windows()
    rows = long_rows({("bytes", 0): nll, ("hat", 0): nll * 0.9}, n_bytes, doc)
    rows = pd.concat([rows[rows["model"] == "bytes"], change(rows[rows["model"] == "hat"])])
    with pytest.raises(ValueError, match=rf"models bytes \(seed 0\) and hat \(seed 0\) did not score the same windows: "
                                         rf".*{message}"):
        bpb_tables(rows, 100)


def test_test_bpb_rows_get_document_intervals_and_refuse_a_stale_table():
    nll, n_bytes, doc = windows()
    tables = bpb_tables(long_rows({("bytes", 0): nll, ("ngram", None): nll * 1.2, ("ngram_seen", 0): nll * 1.1},
                                  n_bytes, doc), 200)
    bpb = pd.DataFrame({"model": ["bytes"], "seed": ["0"], "value": [bits_per_byte(nll, n_bytes)],
                        "ci_low": [0.0], "ci_high": [9.0], "n_docs": [30], "flops_per_byte": [1.0]})
    merged = with_intervals(bpb, tables)
    assert list(merged.columns) == ["model", "seed", "value", "ci_low", "ci_high", "flops_per_byte", "n_docs",
                                    "model_value", "model_ci_low", "model_ci_high", "seed_sd", "n_seeds"]
    row, run = merged.iloc[0], tables.runs.iloc[0]
    assert (row["ci_low"], row["ci_high"], row["n_docs"]) == (run["ci_low"], run["ci_high"], 30)
    assert row["model_value"] == row["value"] and row["n_seeds"] == 1
    with pytest.raises(ValueError, match="disagree"):
        with_intervals(bpb.assign(value=bpb["value"] + 0.01), tables)
    baselines = long_rows({("ngram", None): nll * 1.2, ("ngram_seen", 0): nll * 1.1}, n_bytes, doc)
    rows = baseline_rows(baselines.assign(experiment="x"), tables).set_index("model")
    assert rows[["kind", "family", "experiment", "n_windows"]].drop_duplicates().values.tolist() == [
        ["baseline", "baseline", "x", 240]]
    assert rows["seed"].to_dict() == {"ngram": "", "ngram_seen": "0"}  # counted on seed 0's draws: it pairs with it
    assert rows.loc["ngram", "value"] == pytest.approx(1.2 * bits_per_byte(nll, n_bytes), rel=1e-12)
    assert tables.paired.set_index(["model_a", "model_b"]).loc[("bytes", "ngram_seen"), "paired_seeds"] == 1


def test_paired_matrix_figure_draws_every_pair():
    from byteword.plotting import FIGURES

    nll, n_bytes, doc = windows()
    runs = {("bytes", 0): nll, ("bpe", 0): nll * 0.9, ("hat", 0): nll * 0.999, ("ngram", None): nll * 1.2}
    fig = FIGURES["paired_bpb"](bpb_tables(long_rows(runs, n_bytes, doc), 200).paired)
    ax = fig.axes[0]
    assert len(ax.texts) == 12 and "6 comparisons" in ax.get_title()


def test_figures_of_several_seeds_draw_the_seed_mean():
    """A run of several seeds (configs/seeds.yaml) has one row per seed: the grouped figures average them."""
    from byteword import plotting

    rows = pd.DataFrame({"model": ["a", "a", "b", "b"], "seed": ["0", "1", "0", "1"], "language": "en",
                         "value": [2.0, 3.0, 4.0, 4.0], "ci_low": [1.5, 2.5, 3.5, 3.5], "ci_high": [2.5, 3.5, 4.5, 4.5]})
    mean = plotting.over_seeds(rows, ["model", "language"]).set_index("model")
    assert mean.loc["a", "value"] == 2.5 and mean.loc["b", "ci_high"] == 4.5
    plotting.languages(rows)  # duplicate (model, language) rows no longer break the bars
    assert plotting.over_seeds(rows[rows.seed == "0"], ["model", "language"]).equals(rows[rows.seed == "0"])
