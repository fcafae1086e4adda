"""Where a training step's time goes, level by level (``python -m byteword.bench --breakdown``): every
transformer block of a model is timed forward and backward with module hooks, and so is the attention
sublayer inside it (its query, key and value projection, rotary turns, scores and output projection),
over a few steps; blocks are grouped by the module that holds them (HAT's ``encoder``,
``backbone`` and ``decoder``, MEGABYTE's ``global_model`` and ``local_model``, the flat model's
``stack``). What is left of the step (embeddings, pooling, heads, the loss, final norms, the optimizer)
is one more row. This explains a FLOP-rate ratio; it is not one: a level's FLOPs are not split out,
and the hooks add a little to every step (``step_ms`` is the hooked step's).

Backward times run from the moment a module's output gradients are complete to the moment its input
gradients are: on a CPU the autograd engine runs one node at a time, in reverse order of creation, so
that span holds the module's own backward. Eager steps only: activation checkpointing would time the
recomputed forward twice, and a compiled step has no module boundaries left."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

from byteword.models.layers import Block

REST = "MLP, norms, residuals"  # a block's time outside its attention sublayer
OUTSIDE = "outside the blocks"  # embeddings, pooling, heads, the loss, final norms, the optimizer


def level_of(name: str) -> str:
    """A block's module name -> the module holding it: "encoder.blocks.1" and "encoder.0" -> "encoder"."""
    holder = name.split(".")[:-1]  # the block's own index dropped
    if holder[-1:] == ["blocks"]:  # a Stack keeps its blocks in a list named blocks
        holder.pop()
    return ".".join(holder) or "model"


def breakdown(name: str, model, step, steps: int = 5) -> pd.DataFrame:
    """Rows (model, level, component, forward_ms, backward_ms, ms) per step of ``step`` over ``steps``
    steps: per level, its attention sublayers and the rest of its blocks (MLP, norms, residual adds); then
    everything outside the blocks."""
    seconds = defaultdict(float)  # (level, component, direction) -> seconds over all steps
    handles = []

    def timed(module, key) -> None:
        start = {}

        def begin(*_):
            start["t"] = time.perf_counter()

        def end(direction):
            def hook(*_):
                seconds[(*key, direction)] += time.perf_counter() - start.pop("t")
            return hook

        handles.extend([module.register_forward_pre_hook(begin), module.register_forward_hook(end("forward")),
                        module.register_full_backward_pre_hook(begin),
                        module.register_full_backward_hook(end("backward"))])

    blocks = {module_name: m for module_name, m in model.named_modules() if isinstance(m, Block)}
    if any(block.checkpointing for block in blocks.values()):
        raise ValueError(f"{name}: the breakdown times eager steps without activation checkpointing")
    for module_name, block in blocks.items():
        timed(block, (level_of(module_name), "blocks"))
        timed(block.attn, (level_of(module_name), "attention"))
    try:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        step_seconds = time.perf_counter() - start
    finally:
        for handle in handles:
            handle.remove()
    rows = []
    for level in dict.fromkeys(level for level, _, _ in seconds):
        attention = [seconds[(level, "attention", d)] for d in ("forward", "backward")]
        whole = [seconds[(level, "blocks", d)] for d in ("forward", "backward")]
        for component, (fwd, bwd) in [("attention", attention), (REST, [w - a for w, a in zip(whole, attention)])]:
            rows.append({"level": level, "component": component, "forward_ms": 1e3 * fwd / steps,
                         "backward_ms": 1e3 * bwd / steps, "ms": 1e3 * (fwd + bwd) / steps})
    in_blocks = sum(v for (_, component, _), v in seconds.items() if component == "blocks")
    rows.append({"level": OUTSIDE, "component": OUTSIDE,
                 "ms": 1e3 * (step_seconds - in_blocks) / steps})
    return pd.DataFrame(rows).assign(model=name, step_ms=1e3 * step_seconds / steps)


COLOURS = {"attention": "C3", REST: "C0", OUTSIDE: "0.6"}


def plot(table: pd.DataFrame, path: Path) -> None:
    """One horizontal bar per model: its step cut into levels' attention, the rest of their blocks, and
    the rest of the step, each segment named by its level."""
    from matplotlib.patches import Patch

    from byteword.plotting import plt

    models = list(dict.fromkeys(table["model"]))
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(models) + 1.5))
    for y, model in enumerate(models):
        left = 0.0
        for row in table[table["model"] == model].itertuples():
            ax.barh(y, row.ms, left=left, color=COLOURS[row.component], edgecolor="white")
            if row.ms > 0.08 * table["step_ms"].max() and row.component != OUTSIDE:
                ax.text(left + row.ms / 2, y, row.level, ha="center", va="center", fontsize=7, color="white")
            left += row.ms
    ax.set_yticks(range(len(models)), models)
    ax.invert_yaxis()
    ax.set(xlabel="ms per training step (forward and backward)", title="where a step goes")
    ax.legend(handles=[Patch(color=c, label=component) for component, c in COLOURS.items()], fontsize=8,
              loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
