"""Compute-scaling study: every model of a config trained at several training-FLOPs budgets, and one curve
per family fitted through its points.

**Points.** A budget C (training FLOPs) fixes a model's size and its data by one rule: training bytes D =
r · F, where F is the forward FLOPs per byte every backbone is sized to (compute matching) and r is
``scaling.bytes_per_fpb``. With C = 3 · F · D this gives F = sqrt(C / 3r) and D = sqrt(r · C / 3), so size and
data grow together, each as the square root of the budget (F is about twice the non-embedding parameters
of a flat transformer, so r = 0.5 is about one training byte per non-embedding parameter). Each (model,
budget) is a model of its own, ``<model>_c<budget>`` (``hat_c75e10`` for 7.5e11 FLOPs), so its results live in
their own folders and adding a budget trains nothing already trained.

**Learning rates.** ``scaling.lr_sweep`` trains every model at one budget (``budget``, first seed) at each
of its ``lrs`` other than the study's own there, as extra points ``<point>_lr<rate>``, for validation BPB
only; its winners are recorded in ``chosen``. A model's own ``lr`` holds at ``scaling.own_lr_budget`` (where
it was swept: the demo's budget) and its ``chosen`` one at the sweep's budget; budgets between take the
geometric interpolation in log C, budgets outside the nearer anchor's rate. The anchors are fixed budgets,
so adding a budget changes no other point's rate.

**Fit.** L_f(C) = E + A_f · (C / C_0)^(−α_f), one irreducible E shared by every family (they read the same
bytes), fitted by least squares (``scipy.optimize.least_squares``) through the points' test BPB (mean over
seeds), C the achieved training FLOPs and C_0 the smallest budget. Intervals come from refitting on
bootstrap resamples of the test documents (one draw shared by every point: the comparison is paired) and
of the seeds (one draw of seed indices shared by every point), as ``byteword.evaluation.bootstrap`` draws
them for every other interval. A family's curve crosses the reference's at
C* = C_0 · (A_f / A_ref)^(1 / (α_f − α_ref)); it is reported only where every resample gives a crossing and
the 95% interval of C* lies between the smallest budget and ``extrapolate`` × the largest, and is "cannot be
located" elsewhere (lines that meet only below the smallest budget part as compute grows). An extrapolated
crossing is a hypothesis about larger budgets, not a measurement. The same resamples give each point's
difference from the reference's at its budget, so that an ordering at one budget is stated only where that
paired interval excludes zero."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from byteword.evaluation.bootstrap import LN2, percentile_interval, resample_counts, seed_weights
from byteword.flops import TRAIN_MULTIPLIER
from byteword.models import ModelConfig

E_BOUND = 1e-6  # an E this close to 0 sits at its lower bound


def budget_label(budget: float) -> str:
    """The budget as ``<integer>e<exponent>`` with at most three significant digits: 7.5e11 -> "75e10"."""
    if budget <= 0:
        raise ValueError(f"a budget must be positive, got {budget}")
    exponent = math.floor(math.log10(budget)) - 2
    digits = round(budget / 10**exponent)  # three significant digits
    while digits % 10 == 0:
        digits, exponent = digits // 10, exponent + 1
    return f"{digits}e{exponent}"


def rate_label(lr: float) -> str:
    """A learning rate in a model name: 0.003 -> "0p003"."""
    return f"{lr:g}".replace(".", "p").replace("-", "m")


def flops_per_byte_at(budget: float, bytes_per_fpb: float) -> float:
    """The forward FLOPs per byte of budget C under D = r · F: F = sqrt(C / (3 r))."""
    return math.sqrt(budget / (TRAIN_MULTIPLIER * bytes_per_fpb))


def interpolated_lr(budget: float, anchors: tuple[tuple[float, float], tuple[float, float]]) -> float:
    """The learning rate at ``budget`` from two (budget, lr) anchors: geometric interpolation in log budget
    between them, and the nearer anchor's rate outside them."""
    (c_a, lr_a), (c_b, lr_b) = sorted(anchors)
    if budget <= c_a or c_a == c_b:
        return lr_a if budget <= c_a else lr_b
    if budget >= c_b:
        return lr_b
    t = math.log(budget / c_a) / math.log(c_b / c_a)
    return math.exp((1 - t) * math.log(lr_a) + t * math.log(lr_b))


@dataclass(frozen=True)
class Point:
    """One training job of the study: ``model`` (the config's name) at ``budget`` FLOPs, with its own typed
    config (its learning rate set) and the compute-matching keys of its training section."""
    name: str
    model: str
    budget: float
    config: ModelConfig
    training: dict
    sweep: bool = False  # a learning-rate sweep point (validation BPB only, never fitted)


def study_points(models: dict[str, ModelConfig], scaling: dict, training: dict) -> dict[str, Point]:
    """The config's models at every budget (and the sweep points), by name; bad entries are refused by name."""
    budgets = sorted(float(b) for b in scaling["budgets"])
    clash = [k for k in ("flops_per_byte", "train_flops") if training.get(k) is not None]
    if clash:
        raise ValueError(f"training.{clash[0]} is set, but a scaling study derives it from each budget; remove it")
    imported = [name for name, cfg in models.items() if cfg.imported]
    if imported:
        raise ValueError(f"model {imported[0]!r} is an outside model that byteword does not train, but a scaling "
                         "study trains every model it lists at each budget; score it in an experiment without a "
                         "scaling section")
    if scaling["reference"] not in models:
        raise ValueError(f"scaling.reference {scaling['reference']!r} is not a model of the config "
                         f"({', '.join(models)})")
    sweep = scaling.get("lr_sweep") or {}
    chosen = sweep.get("chosen") or {}
    unknown = sorted(set(chosen) - set(models))
    if unknown:
        raise ValueError(f"scaling.lr_sweep.chosen names {unknown[0]!r}, which is not a model of the config")
    if sweep and not any(math.isclose(float(sweep["budget"]), b) for b in budgets):
        raise ValueError(f"scaling.lr_sweep.budget {sweep['budget']:g} is not one of scaling.budgets")
    r, points = float(scaling["bytes_per_fpb"]), {}

    def add(name: str, model: str, budget: float, cfg: ModelConfig, is_sweep: bool = False) -> None:
        keys = {"flops_per_byte": flops_per_byte_at(budget, r), "train_flops": budget}
        points[name] = Point(name, model, budget, dataclasses.replace(cfg, name=name), keys, is_sweep)

    for name, cfg in models.items():
        own = cfg.lr if cfg.lr is not None else float(training.get("lr", 3e-3))
        anchors = ((float(sweep["budget"]), float(chosen[name])), (float(scaling["own_lr_budget"]), own)) \
            if name in chosen else ((1.0, own), (1.0, own))
        for budget in budgets:
            add(f"{name}_c{budget_label(budget)}", name, budget,
                dataclasses.replace(cfg, lr=interpolated_lr(budget, anchors)))
        if sweep:
            budget = float(sweep["budget"])
            study_lr = interpolated_lr(budget, anchors)
            for lr in sweep["lrs"]:
                if not math.isclose(lr, study_lr):  # the study's own point at the sweep budget is that run
                    add(f"{name}_c{budget_label(budget)}_lr{rate_label(lr)}", name, budget,
                        dataclasses.replace(cfg, lr=float(lr)), True)
    return points


def curve(compute, e: float, a: float, alpha: float, c0: float):
    """L(C) = E + A · (C / C_0)^(−α)."""
    return e + a * (np.asarray(compute, dtype=float) / c0) ** (-alpha)


def fit_curves(points: pd.DataFrame, c0: float) -> dict:
    """Least-squares fit of every family's curve with one shared E through ``points`` (columns model,
    compute, bpb: one row per model and budget). Returns {"E": e, "A": {model: a}, "alpha": {model: α}}."""
    from scipy.optimize import least_squares

    names = list(dict.fromkeys(points["model"]))
    index = points["model"].map({m: i for i, m in enumerate(names)}).to_numpy()
    x = points["compute"].to_numpy(float) / c0
    y = points["bpb"].to_numpy(float)
    if points.groupby("model").size().min() < 2:
        raise ValueError("every model needs points at 2 or more budgets for its curve")

    def residuals(theta):  # theta = [E, log A_1..A_n, α_1..α_n]
        n = len(names)
        a, alpha = np.exp(theta[1:1 + n])[index], theta[1 + n:][index]
        return theta[0] + a * x ** (-alpha) - y

    n, floor = len(names), float(y.min())
    start = np.concatenate([[0.5 * floor], np.log(np.maximum(
        [y[index == i].max() - 0.5 * floor for i in range(n)], 1e-3)), np.full(n, 0.3)])
    lower = np.concatenate([[0.0], np.full(n, -20.0), np.zeros(n)])
    upper = np.concatenate([[floor], np.full(n, 20.0), np.full(n, 5.0)])
    theta = least_squares(residuals, np.clip(start, lower + 1e-9, upper - 1e-9), bounds=(lower, upper)).x
    return {"E": float(theta[0]), "A": dict(zip(names, np.exp(theta[1:1 + n]).tolist())),
            "alpha": dict(zip(names, theta[1 + n:].tolist()))}


def crossing(fit: dict, model: str, reference: str, c0: float) -> float:
    """The compute where ``model``'s curve meets ``reference``'s (inf where they are parallel, or meet beyond
    any float)."""
    d_alpha = fit["alpha"][model] - fit["alpha"][reference]
    if abs(d_alpha) < 1e-12:
        return math.inf
    log_ratio = math.log(fit["A"][model] / fit["A"][reference]) / d_alpha  # log(C* / C_0)
    return c0 * math.exp(log_ratio) if log_ratio < 700 else math.inf


def document_table(windows: pd.DataFrame) -> pd.DataFrame:
    """Per-window NLL -> per (model, budget, seed, doc) sums of nats and bytes."""
    keys = ["model", "budget", "seed", "doc"]
    return windows.groupby(keys, as_index=False)[["nll_nats", "n_bytes"]].sum()


@dataclass
class Study:
    """The fitted study: ``points`` (model, budget, compute, bpb with its interval, n_seeds, n_docs, and d_ref:
    bpb minus the reference's at the same budget, with its paired interval, where the reference has that
    budget) and ``fits`` (one row per model: α, A, E and their intervals, α − α_ref and the crossing with
    theirs, and the reference, C_0, the largest budget and the extrapolation range in every row)."""
    points: pd.DataFrame
    fits: pd.DataFrame


def analyse(docs: pd.DataFrame, compute: pd.DataFrame, reference: str, n_resamples: int = 1000,
            extrapolate: float = 100.0, seed: int = 0) -> Study:
    """Fit the curves and bootstrap them. ``docs``: per (model, budget, seed, doc) NLL sums
    (``document_table``); ``compute``: per (model, budget) the achieved training FLOPs (mean over seeds)."""
    docs = docs.assign(seed=docs["seed"].astype(str))
    models = list(dict.fromkeys(compute["model"]))
    if reference not in models:
        raise ValueError(f"the reference model {reference!r} has no points")
    keys = compute[["model", "budget"]].drop_duplicates().reset_index(drop=True)
    seeds = sorted(docs["seed"].unique())
    doc_ids = sorted(docs["doc"].unique())
    full = pd.MultiIndex.from_product([range(len(keys)), seeds, doc_ids], names=["point", "seed", "doc"])
    frame = docs.merge(keys.reset_index().rename(columns={"index": "point"}), on=["model", "budget"])
    frame = frame.set_index(["point", "seed", "doc"])[["nll_nats", "n_bytes"]].reindex(full)
    if frame.isna().any().any():
        missing = frame[frame["nll_nats"].isna()].index[0]
        raise ValueError(f"point {keys.iloc[missing[0]].to_dict()} lacks seed {missing[1]} or document {missing[2]}")
    shape = (len(keys), len(seeds), len(doc_ids))
    nll, nbytes = frame["nll_nats"].to_numpy().reshape(shape), frame["n_bytes"].to_numpy().reshape(shape)
    points = keys.merge(compute, on=["model", "budget"])
    c0, c_max = float(points["budget"].min()), float(points["budget"].max())

    def fitted(doc_weights, seed_weights):  # (docs,) and (seeds,) weights -> (points,) BPB and the fit
        bpb = ((nll @ doc_weights) / (nbytes @ doc_weights)) @ seed_weights / LN2
        return bpb, fit_curves(points.assign(bpb=bpb), c0)

    bpb, fit = fitted(np.ones(len(doc_ids)), np.full(len(seeds), 1 / len(seeds)))
    draws = [fitted(d, w) for d, w in zip(resample_counts(len(doc_ids), n_resamples, seed).astype(float),
                                          seed_weights(len(seeds), n_resamples, seed))]
    boot_bpb = np.stack([d[0] for d in draws])  # (resamples, points)
    lo, hi = np.quantile(boot_bpb, [0.025, 0.975], axis=0)
    table = points.assign(bpb=bpb, bpb_low=lo, bpb_high=hi, n_seeds=len(seeds), n_docs=len(doc_ids))
    # paired with the reference at the same budget (the same resampled documents and seeds)
    ref_at = {b: i for i, (m, b) in enumerate(zip(points["model"], points["budget"])) if m == reference}
    ref_index = points["budget"].map(ref_at).to_numpy()
    if not np.isnan(ref_index.astype(float)).any():
        ref_index = ref_index.astype(int)
        d_lo, d_hi = np.quantile(boot_bpb - boot_bpb[:, ref_index], [0.025, 0.975], axis=0)
        table = table.assign(d_ref=bpb - bpb[ref_index], d_ref_low=d_lo, d_ref_high=d_hi)

    def interval(values):  # over the resamples; none where one of them is infinite (no crossing)
        values = np.asarray(values, dtype=float)
        return percentile_interval(values) if np.isfinite(values).all() else (np.nan, np.nan)

    rows = []
    e_low, e_high = interval([d[1]["E"] for d in draws])
    # E fitted at its bound 0: the budgets do not locate the irreducible term (the curves are pure power laws)
    e_at_bound = float(np.mean([d[1]["E"] <= E_BOUND for d in draws]))
    for m in models:
        row = {"model": m, "alpha": fit["alpha"][m], "A": fit["A"][m], "E": fit["E"], "E_low": e_low, "E_high": e_high,
               "E_at_bound": fit["E"] <= E_BOUND, "E_at_bound_share": e_at_bound}
        row["alpha_low"], row["alpha_high"] = interval([d[1]["alpha"][m] for d in draws])
        if m != reference:
            diffs = [d[1]["alpha"][m] - d[1]["alpha"][reference] for d in draws]
            low, high = interval(diffs)
            crossings = np.array([crossing(d[1], m, reference, c0) for d in draws])
            c_low, c_high = interval(crossings)
            located = bool(np.isfinite(crossings).all() and c_low >= c0 and c_high <= extrapolate * c_max)
            row.update(d_alpha=fit["alpha"][m] - fit["alpha"][reference], d_alpha_low=low, d_alpha_high=high,
                       d_alpha_excludes_zero=bool(low > 0 or high < 0), crossing=crossing(fit, m, reference, c0),
                       crossing_low=c_low, crossing_high=c_high, crossing_located=located)
        rows.append(row)
    fits = pd.DataFrame(rows).assign(reference=reference, c0=c0, c_max=c_max, extrapolate=extrapolate,
                                     n_resamples=n_resamples)
    return Study(table, fits)
