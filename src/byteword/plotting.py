"""One function per figure. Each takes tidy DataFrames read from Parquet and returns a Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def training_curves(metrics: pd.DataFrame):
    """Validation BPB against bytes seen and against training FLOPs, one line per model (and seed);
    a third panel shows the bytes per chunk of every model that draws chunks, against its target."""
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
    the models no other model beats on both axes."""
    models = summary[summary["kind"] == "model"].sort_values("train_flops")
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colors = dict(zip(models["family"].unique(), plt.get_cmap("tab10").colors))
    for _, r in models.iterrows():
        ax.errorbar(r["train_flops"], r["value"], yerr=[[r["value"] - r["ci_low"]], [r["ci_high"] - r["value"]]],
                    fmt="o", color=colors[r["family"]], capsize=3)
        ax.annotate(r["model"], (r["train_flops"], r["value"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    front = models[models["value"] <= models["value"].cummin()]  # sorted by FLOPs: each beats all cheaper ones
    ax.step(front["train_flops"], front["value"], where="post", color="gray", lw=1, ls="--", label="Pareto front")
    for family, color in colors.items():
        ax.plot([], [], "o", color=color, label=family)
    ax.set(xscale="log", xlabel="training FLOPs (3 × forward)", ylabel="test bits per byte (95% CI)",
           title="Quality against compute")
    sci = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0e}".replace("e+", "e"))
    ax.xaxis.set_major_formatter(sci)
    ax.xaxis.set_minor_formatter(sci)  # the models often span less than a decade
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


def over_seeds(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per ``keys``: the numeric columns averaged over seeds (a run of several seeds draws the seed
    mean, and the mean of the seeds' interval ends), in the table's order."""
    if not table.duplicated(keys).any():
        return table
    return table.groupby(keys, sort=False).mean(numeric_only=True).reset_index()


def grouped_bars(ax, table: pd.DataFrame, column: str, groups: str, members: str, ci: bool = False):
    """Bars of ``column``: one group per value of ``groups``, one bar per value of ``members`` (over seeds)."""
    table = over_seeds(table, [groups, members])
    group_values, member_values = list(dict.fromkeys(table[groups])), list(dict.fromkeys(table[members]))
    width = 0.8 / len(member_values)
    for i, member in enumerate(member_values):
        g = table[table[members] == member].set_index(groups).reindex(group_values)
        x = np.arange(len(group_values)) + i * width
        err = np.vstack([g[column] - g["ci_low"], g["ci_high"] - g[column]]) if ci else None
        ax.bar(x, g[column], width, yerr=err, capsize=3, label=member)
    ax.set_xticks(np.arange(len(group_values)) + width * (len(member_values) - 1) / 2, group_values)


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
    """BPB of every model on each language's text, with bootstrap intervals over documents (or blocks of one)."""
    return by_language(table, "bpb", "bits per byte (95% CI)",
                       "The same models on other scripts (trained on the corpus language)", ci=True)[0]


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
            ("difference", "ci_low", "ci_high", "excludes_zero")}  # each (n_models, n_models), NaN on the diagonal
    n = len(models)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * n + 2), max(4.0, 0.7 * n + 2)))
    colours = matplotlib.colors.to_rgba_array(list(PAIRED_COLOURS.values()))
    rgba = np.ones((n, n, 4))  # white diagonal
    for i, j in np.ndindex(n, n):
        if i != j:
            d, significant = grid["difference"].iat[i, j], bool(grid["excludes_zero"].iat[i, j])
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


TOKENIZER_PANELS = [("bytes_per_token", "bytes per token"), ("tokens_per_word", "tokens per word"),
                    ("share_words_split", "share of words split"), ("vocab_used", "vocabulary used"),
                    ("renyi_efficiency", "Rényi efficiency (α=2.5)")]


def tokenizer_stats(stats: pd.DataFrame):
    """Each statistic against vocabulary size (raw bytes drawn as the 256-symbol point)."""
    stats = stats[stats["metric"] != "vocab_size"]
    wide = stats.pivot_table(index=["tokenizer", "vocab_size"], columns="metric", values="value").reset_index()
    wide = wide.sort_values("vocab_size")
    fig, axes = plt.subplots(1, len(TOKENIZER_PANELS), figsize=(3.2 * len(TOKENIZER_PANELS), 3.2))
    for ax, (metric, title) in zip(axes, TOKENIZER_PANELS):
        ax.plot(wide["vocab_size"], wide[metric], marker="o")
        ax.set_xscale("log", base=2)
        ax.set_xticks(wide["vocab_size"], wide["tokenizer"], fontsize=7, rotation=30)
        ax.minorticks_off()
        ax.set(xlabel="vocabulary size", title=title)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# Embedding figures: one line per model (its readings as two dots, input above output) and per reference
# row (below the dotted line), so both readings and the rows that learn nothing or learn differently show.
READING_STYLES = {
    "input": {"fmt": "o", "color": "tab:blue", "mfc": "white", "offset": -0.18, "label": "input reading"},
    "output": {"fmt": "s", "color": "tab:orange", "mfc": "tab:orange", "offset": 0.18, "label": "output reading"},
    "main": {"fmt": "D", "color": "tab:green", "mfc": "tab:green", "offset": 0.0, "label": "main-level states"},
    "reference": {"fmt": "^", "color": "dimgray", "mfc": "dimgray", "offset": 0.0, "label": "reference row"},
}


def reading_rows(table: pd.DataFrame) -> list[str]:
    """The lines of a readings figure, top to bottom: the models in table order, then the reference rows."""
    is_reference = table["reading"] == "reference"
    models, references = table.loc[~is_reference, "model"], table.loc[is_reference, "model"]
    return list(dict.fromkeys(models)) + list(dict.fromkeys(references))


def reading_dots(ax, table: pd.DataFrame, rows: list[str], column: str = "value", ci: bool = True,
                 style: dict | None = None):
    """Each row of ``table`` as a dot at (``column``, its model's line), shifted and styled by its reading
    (``style`` overrides the marker, colours and label, not the shift), with its interval when ``ci``; the
    reference rows below a dotted line."""
    line = {m: i for i, m in enumerate(rows)}
    for reading, g in table.groupby("reading", sort=False):
        st = {**READING_STYLES[reading], **(style or {})}
        err = np.nan_to_num(np.vstack([g[column] - g["ci_low"], g["ci_high"] - g[column]])) if ci else None
        ax.errorbar(g[column], g["model"].map(line) + st["offset"], xerr=err, fmt=st["fmt"], color=st["color"],
                    mfc=st["mfc"], ms=5, capsize=2, lw=1, label=st["label"])
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # the first line on top
    n_models = len(rows) - table.loc[table["reading"] == "reference", "model"].nunique()
    if 0 < n_models < len(rows):
        ax.axhline(n_models - 0.5, color="black", lw=0.6, ls=":")
    ax.grid(alpha=0.3, axis="x")


def readings_figure(n_panels: int, n_rows: int, n_lines: int, width: float = 4.2):
    """A grid of panels sharing their lines (y), sized to the number of lines."""
    return plt.subplots(n_rows, n_panels, figsize=(1.8 + width * n_panels, n_rows * (1.2 + 0.3 * n_lines)),
                        sharey=True, squeeze=False)


def readings_legend(fig, axes) -> None:
    """One legend under the panels, each label once."""
    handles = {}
    for ax in np.ravel(axes):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))


def word_similarity(scores: pd.DataFrame):
    """Spearman per model and reading, one panel per dataset and level (static: both readings and the
    reference rows; contextual: the main level), with intervals over pairs."""
    rows = reading_rows(scores)
    panels = list(scores.groupby(["dataset", "level"], sort=False))
    fig, axes = readings_figure(len(panels), 1, len(rows), width=3.6)
    for ax, ((dataset, level), g) in zip(axes[0], panels):
        reading_dots(ax, g, rows)
        ax.axvline(0, color="black", lw=0.8)
        ax.set(xlabel="Spearman ρ (95% CI)", title=f"{dataset}, {level}\n({int(g['n_pairs'].iloc[0])} pairs)")
    readings_legend(fig, axes)
    return fig


def model_bars(ax, table: pd.DataFrame, ylabel: str, title: str):
    """One bar per row (labelled by model) with its interval, the value written on the bar."""
    x = np.arange(len(table))
    err = np.vstack([table["value"] - table["ci_low"], table["ci_high"] - table["value"]])
    ax.bar(x, table["value"], yerr=err, capsize=4, color="tab:blue")
    ax.set_xticks(x, table["model"], rotation=30)
    for i, v in enumerate(table["value"]):
        ax.text(i, v / 2, f"{v:.3f}", ha="center", color="white", fontsize=8)
    ax.set(ylabel=ylabel, title=title)


def analogy(table: pd.DataFrame):
    """3CosAdd accuracy per model and reading and per reference row on the questions every row covers:
    all, semantic, syntactic."""
    rows = reading_rows(table)
    panels = list(table.groupby("group", sort=False))
    fig, axes = readings_figure(len(panels), 1, len(rows), width=3.6)
    for ax, (group, g) in zip(axes[0], panels):
        reading_dots(ax, g, rows)
        ax.set(xlabel="3CosAdd accuracy (95% CI)", title=f"{group} ({int(g['n_questions'].iloc[0])} questions)")
    readings_legend(fig, axes)
    return fig


CONTROL_STYLE = {"fmt": "x", "color": "darkgray", "mfc": "darkgray", "label": "random control (same size)"}


def character_probe(table: pd.DataFrame):
    """Macro-F1 of the per-letter probes per model and reading (each beside random vectors of its size)
    and per reference row."""
    macro = table[table["letter"] == "macro"].rename(columns={"f1": "value"})
    own, control = macro[macro["vectors"] == "model"], macro[macro["vectors"] == "random control"]
    rows = reading_rows(own)
    fig, axes = readings_figure(1, 1, len(rows), width=6.0)
    ax = axes[0, 0]
    reading_dots(ax, control, rows, ci=False, style=CONTROL_STYLE)
    reading_dots(ax, own, rows)
    ax.set(xlabel="macro-F1 over letters (95% CI)", title="Which letters a word vector knows (test lemmas unseen)")
    readings_legend(fig, axes)
    return fig


def typo_robustness(table: pd.DataFrame):
    """Left: cosine of a one-edit variant to its clean word (beside a random word pair, grey). Right: how
    often the clean word is the variant's nearest clean word. Per model and reading, and per reference row."""
    rows = reading_rows(table)
    fig, axes = readings_figure(2, 1, len(rows), width=4.5)
    pair = {"fmt": "|", "color": "darkgray", "mfc": "darkgray", "label": "random pair"}
    reading_dots(axes[0, 0], table.assign(value=table["random_cosine"]), rows, ci=False, style=pair)
    for ax, key in zip(axes[0], ("cosine", "top1")):
        reading_dots(ax, table.assign(value=table[key], ci_low=table[f"{key}_ci_low"],
                                      ci_high=table[f"{key}_ci_high"]), rows)
    axes[0, 0].set(xlabel="centred cosine (95% CI)",
                   title=f"Variant vs its word ({int(table['n_variants'].iloc[0])} one-edit variants)")
    axes[0, 1].set(xlabel="share (95% CI)",
                   title=f"Nearest of {int(table['n_words'].iloc[0])} clean words is the right one")
    readings_legend(fig, axes)
    return fig


def embedding_geometry(table: pd.DataFrame):
    """Anisotropy (mean pairwise cosine) and TwoNN intrinsic dimension, one panel per metric and level:
    static vectors at both readings and the reference rows; contextual and sentence vectors (main level)."""
    rows = reading_rows(table)
    levels = list(dict.fromkeys(table["level"]))
    fig, axes = readings_figure(len(levels), 2, len(rows), width=3.6)
    for i, (metric, xlabel) in enumerate([("anisotropy", "mean pairwise cosine (95% CI)"),
                                          ("intrinsic_dimension", "TwoNN dimension (95% CI)")]):
        for ax, level in zip(axes[i], levels):
            reading_dots(ax, table[(table["metric"] == metric) & (table["level"] == level)], rows)
            ax.set(xlabel=xlabel, title=f"{metric.replace('_', ' ')}, {level}")
    readings_legend(fig, axes)
    return fig


def sentence_probe(table: pd.DataFrame):
    """Cross-validated polarity accuracy from frozen sentence vectors, with the bag-of-bytes baseline."""
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(table) + 2), 4))
    model_bars(ax, table, "accuracy (95% CI over sentences)",
               f"Sentence polarity probe ({int(table['n'].iloc[0])} sentences, 5-fold)")
    ax.axhline(0.5, color="black", lw=0.8, ls="--")
    fig.tight_layout()
    return fig


def noise(table: pd.DataFrame):
    """BPB against the rate of per-word character noise (rate 0 = clean), one line per model; and the
    robustness ratio of the other perturbations, grouped by perturbation."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    curve = table[table["perturbation"].str.startswith("word_noise") | (table["perturbation"] == "clean")]
    curve = over_seeds(curve, ["model", "perturbation"])
    for model, g in curve.groupby("model", sort=False):  # the table's model order, as in the bars beside
        g = g.sort_values("rate")
        line = axes[0].plot(g["rate"] * 100, g["bpb"], marker="o", ms=3, label=model)[0]
        axes[0].fill_between(g["rate"] * 100, g["ci_low"], g["ci_high"], color=line.get_color(), alpha=0.15)
    axes[0].set(xlabel="words with one character edit (%)", ylabel="bits per byte (95% CI)",
                title="Per-word character noise")
    axes[0].legend(fontsize=7)
    others = table[~table["perturbation"].str.startswith("word_noise") & (table["perturbation"] != "clean")]
    if len(others):
        grouped_bars(axes[1], others, "robustness_ratio", "perturbation", "model")
        axes[1].axhline(1, color="black", lw=0.8)
        axes[1].set(ylabel="perturbed BPB / clean BPB", title="BLT / H-Net perturbations (1 = unaffected)")
        axes[1].tick_params(axis="x", rotation=20)
        axes[1].set_ylim(0, others["robustness_ratio"].max() * 1.3)  # headroom for the legend above the bars
        axes[1].legend(fontsize=7, ncol=4, loc="upper center")
    for ax in axes:
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def undertrained_tokens(table: pd.DataFrame):
    """ROC-AUC of each weight-based indicator at finding the tokens seen at most N times in training."""
    table = table.assign(group=[f"{i}\n(count ≤ {t}, {n} tokens)" for i, t, n in
                                zip(table["indicator"], table["threshold"], table["n_positive"])])
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * table["group"].nunique() + 2), 4))
    grouped_bars(ax, table.rename(columns={"value": "auc"}), "auc", "group", "model", ci=True)
    ax.axhline(0.5, color="black", lw=0.8, ls="--")
    ax.set(ylim=(0, 1.05), ylabel="ROC-AUC (95% CI over tokens)", title="Finding under-trained BPE tokens from weights")
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def next_word(table: pd.DataFrame):
    """By the word's training count, one bar per model with intervals over positions: greedy next-word
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


FIGURES = {"training_curves": training_curves, "test_bpb": test_bpb, "tokenizer_stats": tokenizer_stats,
           "word_similarity": word_similarity, "pareto": pareto, "parameters": parameters,
           "bytes_per_chunk": bytes_per_chunk, "languages": languages, "noise": noise,
           "undertrained_tokens": undertrained_tokens, "next_word": next_word, "analogy": analogy,
           "character_probe": character_probe, "typo_robustness": typo_robustness,
           "embedding_geometry": embedding_geometry, "sentence_probe": sentence_probe, "paired_bpb": paired_bpb,
           "bpb_by_position": bpb_by_position}
