"""Figures of the embedding evaluations: one line per model (its two readings as two dots) and per
reference row, or bars for the sentence probe."""

from __future__ import annotations

import numpy as np
import pandas as pd

from byteword.plotting.common import plt


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
    macro = table[table["letter"] == "macro"]
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
    reading_dots(axes[0, 0], table[table["metric"] == "random_cosine"], rows, ci=False, style=pair)
    for ax, key in zip(axes[0], ("cosine", "top1")):
        reading_dots(ax, table[table["metric"] == key], rows)
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
