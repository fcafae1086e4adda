"""Figures of the tokenizers: their statistics by vocabulary size, and the under-trained BPE tokens."""

from __future__ import annotations

import pandas as pd

from byteword.plotting.common import grouped_bars, plt


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
