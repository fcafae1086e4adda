"""Figures of the language-model evaluations: training curves, test BPB beside the baselines, paired
differences, BPB by position, compute, parameters, other scripts, noise and next words."""

from __future__ import annotations

import matplotlib.colors
import matplotlib.patches
import matplotlib.ticker
import numpy as np
import pandas as pd

from byteword.plotting.common import colors, grouped_bars, plt


def training_curves(metrics: pd.DataFrame):
    """Validation BPB against bytes seen and against training FLOPs, one line per model (and seed);
    a third panel shows the bytes per chunk of every model that draws chunks, against its target.
    ``metrics``: the training logs (long: model, seed, bytes_seen, train_flops, metric, value)."""
    order = {m: i for i, m in enumerate(dict.fromkeys(metrics["model"]))}  # config order, as the bars
    metrics = metrics.pivot(index=["model", "seed", "step", "bytes_seen", "train_flops"], columns="metric",
                            values="value").reset_index()
    metrics = metrics.sort_values(["model", "seed", "step"], key=lambda c: c.map(order) if c.name == "model" else c)
    chunked = metrics[metrics["valid_bytes_per_chunk"].notna()] if "valid_bytes_per_chunk" in metrics else metrics[:0]
    fig, axes = plt.subplots(1, 3 if len(chunked) else 2, figsize=(16 if len(chunked) else 11, 4))
    for (model, seed), g in metrics.groupby(["model", "seed"], sort=False):  # config order, as the bars
        label = model if metrics["seed"].nunique() == 1 else f"{model} (seed {seed})"
        color = axes[0].plot(g["bytes_seen"], g["valid_bpb"], marker="o", ms=3, label=label)[0].get_color()
        axes[1].plot(g["train_flops"], g["valid_bpb"], marker="o", ms=3, color=color)
        if len(chunked) and g["valid_bytes_per_chunk"].notna().any():
            axes[2].plot(g["bytes_seen"], g["valid_bytes_per_chunk"], marker="o", ms=3, color=color, label=label)
            target = g["target_bytes_per_chunk"].dropna()
            if len(target):
                axes[2].axhline(target.iloc[0], color=color, ls="--", lw=1)
    axes[0].set(xlabel="bytes seen", ylabel="validation bits per byte", title="by data")
    axes[1].set(xlabel="training FLOPs", xscale="log", title="by compute")
    axes[1].sharey(axes[0])
    axes[1].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # decade labels only
    if len(chunked):
        axes[2].set(xlabel="bytes seen", ylabel="validation bytes per chunk", ylim=(0, None),
                    title="chunk length (dashed: target)")
        axes[2].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def pareto(summary: pd.DataFrame):
    """Test BPB (95% CI) against training FLOPs, one point per model coloured by family; the line joins
    the models no other model beats on both axes. Imported models (trained elsewhere, on other data) are
    hollow and stay off the front; those whose training FLOPs are not given are left out."""
    models = summary[(summary["kind"] == "model") & summary["train_flops"].notna()].sort_values("train_flops")
    outside = models.get("imported", pd.Series(False, index=models.index)).fillna(False).astype(bool)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colors = dict(zip(models["family"].unique(), plt.get_cmap("tab10").colors))
    for i, r in models.iterrows():
        face = "none" if outside[i] else colors[r["family"]]
        ax.errorbar(r["train_flops"], r["value"], yerr=[[r["value"] - r["ci_low"]], [r["ci_high"] - r["value"]]],
                    fmt="o", color=colors[r["family"]], mfc=face, capsize=3)
        ax.annotate(r["model"], (r["train_flops"], r["value"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    trained = models[~outside]
    front = trained[trained["value"] <= trained["value"].cummin()]  # sorted by FLOPs: each beats all cheaper ones
    ax.step(front["train_flops"], front["value"], where="post", color="gray", lw=1, ls="--", label="Pareto front")
    elsewhere = set(models.loc[outside, "family"])
    for family, color in colors.items():
        label = f"{family} (trained elsewhere, on other data)" if family in elsewhere else family
        ax.plot([], [], "o", color=color, mfc="none" if family in elsewhere else color, label=label)
    ax.set(xscale="log", xlabel="training FLOPs (3 × forward)", ylabel="test bits per byte (95% CI)",
           title="Quality against compute")
    sci = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0e}".replace("e+", "e"))
    ax.xaxis.set_major_formatter(sci)
    if models["train_flops"].max() < 10 * models["train_flops"].min():  # within a decade: label the minor ticks
        ax.xaxis.set_minor_formatter(sci)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def parameters(summary: pd.DataFrame):
    """Parameters by part (embedding, encoder, backbone, decoder), stacked, one bar per model."""
    models = summary[summary["kind"] == "model"].drop_duplicates("model")
    parts = ["embedding", "encoder", "backbone", "decoder"]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(models) + 2), 4))
    bottom = np.zeros(len(models))
    for part in parts:
        values = models[f"params_{part}"].fillna(0).to_numpy() / 1e6
        ax.bar(models["model"], values, bottom=bottom, label=part)
        bottom += values
    ax.set(ylabel="parameters (millions)", title="Where each model keeps its parameters")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def by_language(table: pd.DataFrame, column: str, ylabel: str, title: str, ci: bool = False):
    """Bars of ``column``, one group per model, one bar per language."""
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * table["model"].nunique() + 3), 4))
    grouped_bars(ax, table, column, "model", "language", ci=ci)
    ax.set(ylabel=ylabel, title=title)
    ax.tick_params(axis="x", rotation=30)
    ax.legend(title="language")
    fig.tight_layout()
    return fig, ax


def bytes_per_chunk(languages: pd.DataFrame):
    """Bytes per chunk (token, word, patch, global position or learned chunk) by model and language:
    how often each model's upper level runs; SpaceByte's rule fires at nearly every Cyrillic letter."""
    fig, ax = by_language(languages[languages["n_chunks"] > 0], "bytes_per_chunk", "bytes per chunk",
                          "Chunk length by language (1 = the upper level runs at every byte)")
    ax.axhline(1, color="black", lw=0.8)
    return fig


def languages(table: pd.DataFrame):
    """BPB of every model and baseline on each language's text, with bootstrap intervals over documents (or
    blocks of one)."""
    fig, ax = by_language(table, "value", "bits per byte (95% CI)",
                          "The same models and baselines on other scripts (trained on the corpus language)", ci=True)
    ax.axhline(8, color="black", lw=0.8, ls=":", label="a uniform guess (8 bits)")
    ax.legend(title="language")
    return fig


def test_bpb(summary: pd.DataFrame):
    """Test BPB per model (blue) and per windowed baseline (grey: n-grams and compressors that read the
    same windows with the same context), each with its interval over resampled documents; whole-text
    compressors, which read the test text at once, drawn as horizontal lines."""
    bars = pd.concat([summary[summary["kind"] == "model"], summary[summary["kind"] == "baseline"]])
    bars = bars.sort_values("value")
    compressors = summary[summary["kind"] == "compressor"]
    fig, ax = plt.subplots(figsize=(max(5, 1.0 * len(bars) + 3), 4.5))
    x = np.arange(len(bars))
    err = np.vstack([bars["value"] - bars["ci_low"], bars["ci_high"] - bars["value"]])
    colors = ["tab:blue" if k == "model" else "tab:gray" for k in bars["kind"]]
    ax.bar(x, bars["value"], yerr=np.nan_to_num(err), capsize=4, color=colors)
    several = bars.loc[bars["kind"] == "model", "seed"].astype(str).nunique() > 1
    labels = [f"{m}\n(seed {s})" if several and k == "model" else m
              for m, s, k in zip(bars["model"], bars["seed"], bars["kind"])]
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    for i, v in enumerate(bars["value"]):
        ax.text(i, v / 2, f"{v:.3f}", ha="center", color="white", rotation=90, fontsize=8)
    for (_, row), style in zip(compressors.iterrows(), ["--", ":", "-.", (0, (5, 1, 1, 1))]):
        ax.axhline(row["value"], color="black", ls=style, lw=1, label=f"{row['model']}, whole text {row['value']:.3f}")
    handles = ax.get_legend_handles_labels()[0] + [
        matplotlib.patches.Patch(color="tab:blue", label="model"),
        matplotlib.patches.Patch(color="tab:gray", label="baseline on the same windows")]
    ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.9)
    ax.set(ylabel="test bits per byte (95% CI over documents)", title="Test BPB, the same scored bytes and context")
    top = np.nanmax([compressors["value"].max() if len(compressors) else 0, bars["value"].max(),
                     bars["ci_high"].max()])  # ci_high is NaN where a test set of one document has no interval
    ax.set_ylim(0, top * 1.25)
    fig.tight_layout()
    return fig


def bpb_by_position(positions: pd.DataFrame):
    """BPB at each position of windows scored from their first byte (no context), one line per model:
    how much each family gains from the bytes before. A BPE token counts at its last byte's position."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    # the positions every model reaches (a BPE window may reach a few bytes back for a token's start)
    positions = positions[positions["position"] <= positions.groupby("model")["position"].max().min()]
    for (model, seed), g in positions.groupby(["model", "seed"], sort=False):
        g = g.sort_values("position")
        # blocks of 8 positions: single positions are noisy
        block = g["position"] // 8
        bpb = g.groupby(block)["nll_nats"].sum() / (np.log(2) * g.groupby(block)["n_bytes"].sum())
        label = model if positions["seed"].nunique() == 1 else f"{model} (seed {seed})"
        ax.plot(bpb.index * 8 + 4, bpb.values, marker="o", ms=3, label=label)
    ax.set(xlabel="position in the window (bytes, blocks of 8)", ylabel="bits per byte",
           title="Who uses its context: BPB by position, windows scored from their first byte")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


PAIRED_COLOURS = {"row better": "#9ecae1", "column better": "#fcae91", "interval holds 0": "#e3e3e3"}


def paired_bpb(paired: pd.DataFrame):
    """Paired test-BPB difference of every two models (baselines included), row minus column, with its
    95% interval over resampled documents (and seeds). A cell is coloured by the sign of the difference
    only where its interval excludes zero (blue: the row model needs fewer bits), grey otherwise."""
    models = list(dict.fromkeys([*paired["model_a"], *paired["model_b"]]))
    cells = paired.set_index(["model_a", "model_b"])
    grid = {c: cells[c].unstack().reindex(index=models, columns=models) for c in
            ("value", "ci_low", "ci_high", "excludes_zero")}  # each (n_models, n_models), NaN on the diagonal
    n = len(models)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * n + 2), max(4.0, 0.7 * n + 2)))
    colours = matplotlib.colors.to_rgba_array(list(PAIRED_COLOURS.values()))
    rgba = np.ones((n, n, 4))  # white diagonal
    for i, j in np.ndindex(n, n):
        if i != j:
            d, significant = grid["value"].iat[i, j], bool(grid["excludes_zero"].iat[i, j])
            rgba[i, j] = colours[2] if not significant else colours[0] if d < 0 else colours[1]
            ax.text(j, i, f"{d:+.3f}\n[{grid['ci_low'].iat[i, j]:+.3f}, {grid['ci_high'].iat[i, j]:+.3f}]",
                    ha="center", va="center", fontsize=7.5)
    ax.imshow(rgba, aspect="auto")
    ax.set_xticks(range(n), models, rotation=30, ha="right")
    ax.set_yticks(range(n), models)
    k = int(paired["n_comparisons"].iloc[0]) if len(paired) else 0
    ax.set(xlabel="column model", ylabel="row model",
           title=f"Test BPB, row − column (95% CI over {int(paired['n_docs'].iloc[0]) if len(paired) else 0} "
                 f"documents)\n{k} comparisons: about {0.05 * k:.1f} would exclude 0 by chance alone")
    handles = [matplotlib.patches.Patch(color=c, label=label) for label, c in PAIRED_COLOURS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))  # room for the legend below
    return fig


def noise(table: pd.DataFrame):
    """BPB against the rate of per-word character noise (rate 0 = clean), one line per model and baseline
    (baselines dashed), with intervals over articles and seeds; and the robustness ratio (perturbed BPB /
    clean BPB) of the other perturbations, grouped by perturbation, with its interval."""
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
    ratios = table[table["metric"] == "bpb_ratio"]  # a model's, over its seeds
    rows = table[table["metric"] == "bpb"].drop_duplicates(["perturbation", "model"])  # model_*: over seeds
    curve = rows[rows["perturbation"].str.startswith("word_noise") | (rows["perturbation"] == "clean")]
    groups = list(curve.groupby("model", sort=False))  # the table's model order, as in the bars beside
    for (model, g), color in zip(groups, colors(len(groups))):
        g = g.sort_values("rate")
        style = "--" if (g["kind"] == "baseline").all() else "-"
        axes[0].plot(g["rate"] * 100, g["model_value"], style, marker="o", ms=3, label=model, color=color)
        axes[0].fill_between(g["rate"] * 100, g["model_ci_low"], g["model_ci_high"], color=color, alpha=0.15)
    axes[0].set(xlabel="words with one character edit (%)", ylabel="bits per byte (95% CI)",
                title="Per-word character noise (dashed: baselines)")
    axes[0].legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    others = ratios[~ratios["perturbation"].str.startswith("word_noise")]
    if len(others):
        grouped_bars(axes[1], others, "value", "perturbation", "model", ci=True)
        axes[1].axhline(1, color="black", lw=0.8)
        axes[1].set(ylabel="perturbed BPB / clean BPB (95% CI)", title="BLT / H-Net perturbations (1 = unaffected)")
        axes[1].tick_params(axis="x", rotation=20)
        top = others["ci_high"].fillna(others["value"]).max()  # no interval with a single document
        axes[1].set_ylim(0, top * 1.35)  # headroom for the legend above the bars
        axes[1].legend(fontsize=7, ncol=4, loc="upper center")
    for ax in axes:
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def next_word(table: pd.DataFrame):
    """By the word's training count, one bar per model with intervals over articles: greedy next-word
    accuracy, the looser score that checks only the word's own predictions, and the word's bits per byte."""
    fig, axes = plt.subplots(1, 3, figsize=(18, 4))
    panels = [("next_word", "Next word: its bytes, then the space that ends it", "greedy exact match (95% CI)"),
              ("word_bytes", "Word bytes only (not whether it ends)", "greedy exact match (95% CI)"),
              ("word_bpb", "Bits per byte of the word given its context", "bits per byte (95% CI)")]
    for ax, (metric, title, ylabel) in zip(axes, panels):
        part = table[table["metric"] == metric].copy()
        part["group"] = [f"{b}\n(n={n})" for b, n in zip(part["bucket"], part["n"])]
        grouped_bars(ax, part, "value", "group", "model", ci=True)
        ax.set(title=title, xlabel="times the word occurs in the training split", ylabel=ylabel)
        ax.grid(alpha=0.3, axis="y")
    axes[1].sharey(axes[0])
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def scaling(data: pd.DataFrame):
    """A scaling study: test BPB against achieved training FLOPs, one colour per model, points with their
    interval over documents and seeds, each fitted curve solid over its own points' compute and dashed beyond,
    up to ``extrapolate`` × the largest budget (the shaded band: past every measured point), and the n-gram
    baselines on the same bytes."""
    from byteword.scaling import curve

    points, fits = data[data["bpb"].notna() & data["budget"].notna()], data[data["alpha"].notna()]
    baselines = data[(data["family"] == "baseline") & data["bpb_low"].notna()]  # windowed: the same bytes
    c0, c_max, reach = (float(fits[k].iloc[0]) for k in ("c0", "c_max", "extrapolate"))
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.axvspan(points["compute"].max(), reach * c_max, color="0.93", label="extrapolation (a hypothesis)")
    for (_, fit), color in zip(fits.iterrows(), colors(len(fits))):
        rows = points[points["model"] == fit["model"]]
        ax.errorbar(rows["compute"], rows["bpb"], yerr=[rows["bpb"] - rows["bpb_low"], rows["bpb_high"] - rows["bpb"]],
                    fmt="o", color=color, capsize=3, ms=4)
        measured = np.geomspace(rows["compute"].min(), rows["compute"].max(), 50)  # its own points' range
        beyond = np.geomspace(rows["compute"].max(), reach * c_max, 50)
        label = f"{fit['model']}: α = {fit['alpha']:.3f}"
        ax.plot(measured, curve(measured, fit["E"], fit["A"], fit["alpha"], c0), color=color, lw=1.5, label=label)
        ax.plot(beyond, curve(beyond, fit["E"], fit["A"], fit["alpha"], c0), color=color, lw=1, ls="--")
    e = fits["E"].iloc[0]
    if fits["E_at_bound"].iloc[0]:  # the budgets do not locate E: no line to draw
        ax.plot([], [], " ", label="shared E: at its bound 0 (not located)")
    else:
        ax.axhline(e, color="black", lw=0.8, ls=":", label=f"shared E = {e:.2f}")
    top = points["bpb_high"].max()
    for _, b in baselines[baselines["bpb"] <= top].iterrows():  # the n-grams within the models' range
        ax.axhline(b["bpb"], color="0.4", lw=0.8, ls="-.")
        ax.annotate(f"{b['model']} (baseline)", (points["compute"].min(), b["bpb"]), textcoords="offset points",
                    xytext=(0, 3), fontsize=7, color="0.3")
    ax.set(xscale="log", xlabel="training FLOPs (achieved)", ylabel="test bits per byte (95% CI)",
           title="Compute scaling: L(C) = E + A·(C/C₀)^−α")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
