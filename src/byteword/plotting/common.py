"""What every figure module shares: matplotlib without a display, and bars grouped by model or by
measurement, averaged over seeds where a run has several."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (the figure modules take plt from here, after the backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from byteword.evaluation.paired import seed_aware  # noqa: E402


def over_seeds(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per ``keys``: the numeric columns averaged over seeds (a run of several seeds draws the seed
    mean, and the mean of the seeds' interval ends), in the table's order."""
    if not table.duplicated(keys).any():
        return table
    return table.groupby(keys, sort=False).mean(numeric_only=True).reset_index()


def colors(n: int) -> list:
    """n distinct colours: matplotlib's default ten, or the twenty of tab20 when more are needed (models
    beside baselines), so that no two bars or lines of one figure share a colour."""
    if n <= 10:
        return [f"C{i}" for i in range(n)]
    return [plt.get_cmap("tab20")(i % 20) for i in range(n)]


def grouped_bars(ax, table: pd.DataFrame, column: str, groups: str, members: str, ci: bool = False):
    """Bars of ``column``: one group per value of ``groups``, one bar per value of ``members``. Over seeds,
    a summary's seed-aware numbers (``model_value`` and its interval, the same on every seed's row) where
    it has them for ``value``; else the seed mean (``over_seeds``)."""
    if column == "value" and "model_value" in table:
        table = seed_aware(table, [groups, members])
    else:
        table = over_seeds(table, [groups, members])
    group_values, member_values = list(dict.fromkeys(table[groups])), list(dict.fromkeys(table[members]))
    width = 0.8 / len(member_values)
    for i, (member, color) in enumerate(zip(member_values, colors(len(member_values)))):
        g = table[table[members] == member].set_index(groups).reindex(group_values)
        x = np.arange(len(group_values)) + i * width
        err = np.vstack([g[column] - g["ci_low"], g["ci_high"] - g[column]]) if ci else None
        ax.bar(x, g[column], width, yerr=err, capsize=3, label=member, color=color)
    ax.set_xticks(np.arange(len(group_values)) + width * (len(member_values) - 1) / 2, group_values)
