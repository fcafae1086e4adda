"""The columns and figure of a ``byteword.bench`` table, from its models' timed blocks: rates and
FLOP-rate ratios (``rate_columns``), the time in matrix products (``matmul_columns``, CPU), and one
figure of both (``plot``). ``models`` maps names to ``byteword.bench.Timed``: each has its ``row``,
``rates`` (bytes/s of each block), ``n_bytes`` per step and ``step``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def rate_columns(models: dict, reference: str = "bytes") -> None:
    """Into each row: the median bytes/s and seconds per step over blocks and, where the reference was
    timed, the achieved FLOP rate relative to the reference's in the same block (median, min, max)."""
    ref = models.get(reference)
    for timed in models.values():
        rates = np.asarray(timed.rates)
        timed.row.update(bytes_per_second=float(np.median(rates)),
                         seconds_per_step=float(np.median(timed.n_bytes / rates)), n_blocks=len(rates))
        if ref is not None:
            flop_rate = timed.row["train_flops_per_byte"] * rates  # (blocks,)
            ratios = flop_rate / (ref.row["train_flops_per_byte"] * np.asarray(ref.rates))
            timed.row.update(flop_rate_ratio=float(np.median(ratios)), flop_rate_ratio_min=float(ratios.min()),
                             flop_rate_ratio_max=float(ratios.max()))


# CPU kernels of matrix products, attention's included (its scores and weighted sums are products)
MATMUL_KERNELS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm",
                  "aten::_scaled_dot_product_flash_attention_for_cpu",
                  "aten::_scaled_dot_product_flash_attention_for_cpu_backward"}


def matmul_columns(models: dict, reference: str = "bytes", steps: int = 2) -> None:
    """Into each row (CPU, after ``rate_columns``): seconds per step in matrix-product kernels (their self
    time under torch.profiler, over ``steps`` more steps), their share of the median step, and the FLOP
    rate relative to the reference's counted over that time alone: the ratio a model would reach if all
    but its matrix products cost nothing, so the most that cutting overhead could bring."""
    from torch.profiler import ProfilerActivity, profile

    for timed in models.values():
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                timed.step()
        kernel_us = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in MATMUL_KERNELS)
        seconds = kernel_us / 1e6 / steps
        timed.row.update(matmul_seconds_per_step=seconds, matmul_share=seconds / timed.row["seconds_per_step"])
    ref = models.get(reference)
    if ref is None:
        return

    def flops_per_matmul_second(t) -> float:
        return t.row["train_flops_per_byte"] * t.n_bytes / t.row["matmul_seconds_per_step"]

    for timed in models.values():
        timed.row["matmul_flop_rate_ratio"] = flops_per_matmul_second(timed) / flops_per_matmul_second(ref)


def plot(table: pd.DataFrame, path: Path) -> None:
    from byteword.plotting import plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].bar(table["model"], table["bytes_per_second"] / 1e3)
    axes[0].set(ylabel="training throughput (kB/s)", title=f"{table['device'].iloc[0]}, {table['step'].iloc[0]}")
    if "mfu" in table:  # a GPU: utilisation of the card's peak
        axes[1].bar(table["model"], table["mfu"])
        axes[1].set(ylabel="model FLOPs utilisation", title="compute use")
    elif "flop_rate_ratio" in table:  # the FLOP rate relative to the flat byte model's, range over blocks
        ratio = table["flop_rate_ratio"]
        err = [ratio - table["flop_rate_ratio_min"], table["flop_rate_ratio_max"] - ratio]
        axes[1].bar(table["model"], ratio, yerr=err, capsize=3)
        if "matmul_flop_rate_ratio" in table:
            axes[1].scatter(table["model"], table["matmul_flop_rate_ratio"], marker="_", s=300, color="C3",
                            zorder=3, label="over matrix-product time alone")
        axes[1].axhline(0.8, color="black", lw=0.8, ls=":", label="0.8")
        top = max(table["flop_rate_ratio_max"].max(), table.get("matmul_flop_rate_ratio", ratio).max())
        axes[1].set(ylabel="FLOP rate ÷ the flat byte model's", title="compute use (range over blocks)",
                    ylim=(0, 1.3 * top))  # room above the bars for the legend
        axes[1].legend(fontsize=8, loc="upper left", ncol=2)
    else:
        axes[1].bar(table["model"], table["achieved_tflops"])
        axes[1].set(ylabel="achieved TFLOP/s", title="compute use")
    for ax in axes:
        ax.tick_params(axis="x", rotation=30)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
