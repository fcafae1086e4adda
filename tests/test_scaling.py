"""The scaling study: budgets become points of their own, the shared-E fit recovers known curves, its
bootstrap intervals cover the truth, crossings are stated only where the rule allows, and the tiny study
runs end to end through the workflow, where adding a budget plans that budget's jobs alone."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from byteword.budget import gpu_hours
from byteword.models import model_config_from_dict
from byteword.scaling import (analyse, budget_label, crossing, curve, fit_curves, flops_per_byte_at, interpolated_lr,
                              study_points)
from byteword.tables import render
from test_scale_out import stub_env
from test_workflow import ROOT, planned_jobs, snakemake

TINY = ROOT / "tests/tiny_scaling.yaml"


def test_budget_labels_are_short_and_exact():
    assert [budget_label(b) for b in (3e11, 7.5e11, 1.9e12, 1e15, 1.23e18, 250)] == \
           ["3e11", "75e10", "19e11", "1e15", "123e16", "25e1"]
    with pytest.raises(ValueError, match="-1"):
        budget_label(-1)


def test_size_and_data_follow_the_rule():
    for budget, r in ((3e11, 0.5), (1e18, 2.0)):
        f = flops_per_byte_at(budget, r)
        assert math.isclose(3 * f * (r * f), budget)  # C = 3 · F · D with D = r · F


def test_learning_rates_interpolate_between_fixed_anchors():
    anchors = ((1e10, 1e-2), (1e12, 1e-3))
    assert interpolated_lr(1e10, anchors) == 1e-2 and interpolated_lr(1e12, anchors) == 1e-3
    assert math.isclose(interpolated_lr(1e11, anchors), math.sqrt(1e-2 * 1e-3))  # halfway in log budget
    assert interpolated_lr(1e9, anchors) == 1e-2 and interpolated_lr(1e13, anchors) == 1e-3  # clamped outside


def scaling_config(**changes):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["scaling"].update(changes)
    models = {n: model_config_from_dict(n, e) for n, e in cfg["models"].items()}
    return models, cfg["scaling"], cfg["training"]


def test_every_model_becomes_one_point_per_budget_and_the_sweep_adds_the_other_rates():
    points = study_points(*scaling_config())
    fitted = sorted(n for n, p in points.items() if not p.sweep)
    assert fitted == ["bpe_c19e8", "bpe_c3e8", "bpe_c75e7", "bytes_c19e8", "bytes_c3e8", "bytes_c75e7"]
    # bytes' chosen rate 0.01 at the sweep's budget, its own (the default 3e-3) at own_lr_budget
    assert points["bytes_c3e8"].config.lr == 0.01 and math.isclose(points["bytes_c19e8"].config.lr, 3e-3)
    assert points["bpe_c75e7"].config.lr == 3e-3  # nothing chosen: its own rate everywhere
    # the sweep trains each model at the rates its study point does not already use
    assert sorted(n for n, p in points.items() if p.sweep) == ["bpe_c3e8_lr0p01", "bytes_c3e8_lr0p003"]
    p = points["bytes_c75e7"]
    assert p.config.name == "bytes_c75e7" and p.model == "bytes" and p.training["train_flops"] == 7.5e8
    assert math.isclose(p.training["flops_per_byte"], flops_per_byte_at(7.5e8, 0.1))


def test_adding_a_budget_changes_no_other_point():
    before = study_points(*scaling_config())
    after = study_points(*scaling_config(budgets=[3.0e8, 7.5e8, 1.9e9, 4.8e9]))
    assert set(after) - set(before) == {"bpe_c48e8", "bytes_c48e8"}
    assert all(after[name] == point for name, point in before.items())


@pytest.mark.parametrize("changes, training, needle", [
    ({"reference": "gpt"}, {}, "'gpt'"),
    ({"lr_sweep": {"budget": 3e8, "lrs": [0.01], "chosen": {"hat": 0.01}}}, {}, "'hat'"),
    ({"lr_sweep": {"budget": 5e8, "lrs": [0.01]}}, {}, "lr_sweep.budget 5e+08"),
    ({}, {"flops_per_byte": 1e5}, "training.flops_per_byte"),
])
def test_bad_scaling_entries_are_refused_by_name(changes, training, needle):
    models, scaling, train = scaling_config(**changes)
    with pytest.raises(ValueError, match=re.escape(needle)):
        study_points(models, scaling, {**train, **training})


TRUTH = {"bpe": (1.5, 0.30), "bytes": (2.0, 0.40), "flat": (1.8, 0.30)}  # model -> (A, α); E = 1.2
BUDGETS = [3e11, 7.5e11, 1.9e12, 4.8e12]


def test_the_fit_recovers_known_curves_and_their_crossing():
    rows = [{"model": m, "compute": c, "bpb": curve(c, 1.2, a, alpha, 3e11)} for m, (a, alpha) in TRUTH.items()
            for c in BUDGETS]
    fit = fit_curves(pd.DataFrame(rows), 3e11)
    assert fit["E"] == pytest.approx(1.2, abs=1e-6)
    for m, (a, alpha) in TRUTH.items():
        assert fit["A"][m] == pytest.approx(a, rel=1e-5) and fit["alpha"][m] == pytest.approx(alpha, abs=1e-5)
    # 1.5 · x^-0.3 = 2.0 · x^-0.4 at x = (2 / 1.5)^(1 / 0.1)
    assert crossing(fit, "bytes", "bpe", 3e11) == pytest.approx(3e11 * (2.0 / 1.5) ** 10, rel=1e-4)


def noisy_documents(seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-document NLL on the known curves, each document and seed off by 1% noise."""
    rng, rows = np.random.default_rng(seed), []
    for m, (a, alpha) in TRUTH.items():
        for c in BUDGETS:
            for s in ("0", "1"):
                for d in range(30):
                    n = 2000 + 100 * d
                    bpb = curve(c, 1.2, a, alpha, 3e11) * (1 + 0.01 * rng.standard_normal())
                    rows.append({"model": m, "budget": c, "seed": s, "doc": d, "nll_nats": bpb * math.log(2) * n,
                                 "n_bytes": n})
    compute = pd.DataFrame([{"model": m, "budget": c, "compute": c} for m in TRUTH for c in BUDGETS])
    return pd.DataFrame(rows), compute


def test_bootstrap_intervals_cover_the_truth_and_crossings_follow_the_rule():
    docs, compute = noisy_documents()
    study = analyse(docs, compute, "bpe", n_resamples=200)
    fits = study.fits.set_index("model")
    for m, (_, alpha) in TRUTH.items():
        assert fits.loc[m, "alpha_low"] < alpha < fits.loc[m, "alpha_high"]
    assert fits.loc["bpe", "E_low"] < 1.2 < fits.loc["bpe", "E_high"]
    # bytes is steeper by 0.1 and meets bpe at 5.3e12, just past the largest budget: stated with its interval
    assert fits.loc["bytes", "d_alpha_excludes_zero"] and fits.loc["bytes", "crossing_located"]
    assert fits.loc["bytes", "crossing_low"] < 3e11 * (2.0 / 1.5) ** 10 < fits.loc["bytes", "crossing_high"]
    # "flat" has bpe's exponent: the difference cannot be told from zero, and no crossing can be located
    assert fits.loc["flat", "d_alpha_low"] < 0 < fits.loc["flat", "d_alpha_high"]
    assert not fits.loc["flat", "d_alpha_excludes_zero"] and not fits.loc["flat", "crossing_located"]
    table = render("scaling_fit", study.fits)
    assert "bytes steeper" in table and "cannot be located" in table and "cannot be told apart" in table
    points = study.points.set_index(["model", "budget"])
    assert (points["bpb_low"] < points["bpb"]).all() and (points["bpb"] < points["bpb_high"]).all()
    # paired with bpe at each budget: "flat" lies 0.3 · x^-0.3 above it; bytes 0.5 above at the smallest
    # budget, 0.007 at the largest (it crosses after), each interval around the true gap
    assert (points.loc["flat", "d_ref_low"] > 0).all() and (points.loc["bpe", "d_ref"] == 0).all()
    for c in BUDGETS:
        gap = curve(c, 1.2, 2.0, 0.4, 3e11) - curve(c, 1.2, 1.5, 0.3, 3e11)
        assert points.loc[("bytes", c), "d_ref_low"] < gap < points.loc[("bytes", c), "d_ref_high"]
    paired = render("scaling_paired", study.points)
    assert "model − bpe" in paired and "bpe lower" in paired


def test_a_point_without_every_document_is_refused():
    docs, compute = noisy_documents()
    docs = docs[~((docs["model"] == "bytes") & (docs["budget"] == 3e11) & (docs["seed"] == "1") & (docs["doc"] == 4))]
    with pytest.raises(ValueError, match="lacks seed 1 or document 4"):
        analyse(docs, compute, "bpe", n_resamples=10)


def test_gpu_hours_count_each_point_at_its_budget_and_sweeps_on_one_seed():
    cfg = yaml.safe_load(TINY.read_text())
    jobs = gpu_hours(cfg, mfu=0.5, gpu_tflops=1.0)
    assert len(jobs) == 6 * 2 + 2  # 6 points x 2 seeds, 2 sweep points x 1 seed
    assert jobs["train_flops"].sum() == pytest.approx(2 * 2 * (3e8 + 7.5e8 + 1.9e9) + 2 * 3e8)


def test_both_scaling_configs_dry_run_and_the_gpu_one_under_slurm(tmp_path):
    out = snakemake("-n", "--configfile", str(ROOT / "configs/scaling.yaml"), cwd=tmp_path)
    # 7 models x 4 budgets x 2 seeds, and 7 x 2 swept rates at the smallest budget
    assert planned_jobs(out)["pretrain"] == 56 + 14 and planned_jobs(out)["evaluate_bpb"] == 56
    gpu = tmp_path / "gpu"
    gpu.mkdir()
    out = snakemake("-n", "--profile", str(ROOT / "profiles/slurm"), "--configfile",
                    str(ROOT / "configs/scaling_gpu.yaml"), cwd=gpu, env=stub_env(gpu))
    assert planned_jobs(out)["pretrain"] == 56 + 14
    assert not (gpu / "results").exists() and not (gpu / "sbatch.log").exists()


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny_scaling")
    snakemake("--cores", "2", "--configfile", str(TINY), cwd=work)
    return work


def test_the_tiny_study_runs_end_to_end(tiny_study):
    results = tiny_study / "results"
    table = pd.read_parquet(results / "summary/enwiki/scaling_points.parquet")
    baselines = table[table["family"] == "baseline"]  # the n-grams and compressors on the same test bytes
    assert {"ngram_seen", "ngram_train", "ppmd_ctx"} <= set(baselines["model"])
    points = table[table["family"] != "baseline"]
    # ngram_seen counts the bytes that the first model's point at own_lr_budget (1.9e9) saw, seed 0
    record = json.loads((results / "pretrain/enwiki/bpe_c19e8/seed0/model.json").read_text())
    label = baselines.set_index("model").loc["ngram_seen", "label"]
    counted = float(re.search(r"the ([\d.]+) KB the models saw", label).group(1)) * 1e3
    assert counted == pytest.approx(record["bytes_seen"], rel=0.05)  # its windows: whole BPE tokens
    assert len(points) == 6 and (points["n_seeds"] == 2).all() and (points["epochs"] < 1).all()
    # each point trained at its budget: achieved FLOPs near it (widths come in steps), its bytes by the rule
    # (budget / 3 F with F = sqrt(budget / 0.3)) up to the last step's batch of 4 x 64 bytes
    assert np.allclose(points["compute"], points["budget"], rtol=0.2)
    assert np.allclose(points["bytes_seen"], points["budget"] / (3 * np.sqrt(points["budget"] / 0.3)), atol=256)
    fits = pd.read_parquet(results / "summary/enwiki/scaling_fit.parquet")
    assert list(fits["model"]) == ["bpe", "bytes"] and fits["alpha"].notna().all()
    sweep = pd.read_parquet(results / "summary/enwiki/scaling_lr_sweep.parquet")
    assert len(sweep) == 4 and sweep.groupby("model")["best"].sum().eq(1).all()
    assert (results / "figures/enwiki/scaling.png").stat().st_size > 10_000
    assert "| bytes |" in (results / "tables/enwiki/scaling_fit.md").read_text()


def test_adding_a_budget_to_a_finished_study_plans_only_its_jobs(tiny_study, tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["scaling"]["budgets"].append(4.8e9)
    edited = tmp_path / "more.yaml"
    edited.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = snakemake("-n", "--configfile", str(edited), cwd=tiny_study)
    assert planned_jobs(out) == {"pretrain": 4, "evaluate_bpb": 4, "scaling_study": 1, "plot_scaling": 1,
                                 "render_table": 3}
