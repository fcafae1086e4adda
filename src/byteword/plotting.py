"""One function per figure. Each takes tidy DataFrames read from Parquet and returns a Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def training_curves(metrics: pd.DataFrame):
    """Validation BPB against bytes seen and against training FLOPs, one line per model (and seed)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for (model, seed), g in metrics.groupby(["model", "seed"]):
        label = model if metrics["seed"].nunique() == 1 else f"{model} (seed {seed})"
        axes[0].plot(g["bytes_seen"], g["valid_bpb"], marker="o", ms=3, label=label)
        axes[1].plot(g["train_flops"], g["valid_bpb"], marker="o", ms=3, label=label)
    axes[0].set(xlabel="bytes seen", ylabel="validation bits per byte", title="by data")
    axes[1].set(xlabel="training FLOPs", xscale="log", title="by compute")
    axes[1].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # decade labels only
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    return fig


def test_bpb(summary: pd.DataFrame):
    """Test BPB per model with its bootstrap interval; compressors drawn as horizontal lines."""
    models = summary[summary["kind"] == "model"].sort_values("value")
    compressors = summary[summary["kind"] == "compressor"]
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(models) + 3), 4))
    x = np.arange(len(models))
    err = np.vstack([models["value"] - models["ci_low"], models["ci_high"] - models["value"]])
    ax.bar(x, models["value"], yerr=err, capsize=4, color="tab:blue")
    labels = [f"{m}\n(seed {s})" if models["seed"].nunique() > 1 else m for m, s in zip(models["model"], models["seed"])]
    ax.set_xticks(x, labels)
    for i, v in enumerate(models["value"]):
        ax.text(i, v / 2, f"{v:.3f}", ha="center", color="white")
    for (_, row), style in zip(compressors.iterrows(), ["--", ":", "-."]):
        ax.axhline(row["value"], color="gray", ls=style, lw=1.2, label=f"{row['model']} {row['value']:.3f}")
    if len(compressors):
        ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    ax.set(ylabel="test bits per byte (95% CI)", title="Test BPB, byte-identical windows")
    ax.set_ylim(0, max(compressors["value"].max() if len(compressors) else 0, models["ci_high"].max()) * 1.1)
    fig.tight_layout()
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


def word_similarity(scores: pd.DataFrame):
    """Spearman per model, grouped by dataset, with bootstrap intervals over pairs."""
    datasets = list(dict.fromkeys(scores["dataset"]))
    models = list(dict.fromkeys(scores["model"]))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(2.5 + 2 * len(datasets), 4))
    for i, model in enumerate(models):
        g = scores[scores["model"] == model].set_index("dataset").loc[datasets]
        x = np.arange(len(datasets)) + i * width
        err = np.vstack([g["value"] - g["ci_low"], g["ci_high"] - g["value"]])
        ax.bar(x, g["value"], width, yerr=err, capsize=3, label=model)
    ax.set_xticks(np.arange(len(datasets)) + width * (len(models) - 1) / 2,
                  [f"{d}\n({int(scores[scores.dataset == d].n_pairs.iloc[0])} pairs)" for d in datasets])
    ax.axhline(0, color="black", lw=0.8)
    ax.set(ylabel="Spearman ρ (95% CI)", title="Static word vectors vs human similarity")
    ax.legend()
    fig.tight_layout()
    return fig


FIGURES = {"training_curves": training_curves, "test_bpb": test_bpb, "tokenizer_stats": tokenizer_stats,
           "word_similarity": word_similarity}
