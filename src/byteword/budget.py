"""GPU-hours of an experiment's training jobs, from its FLOPs budget and an assumed utilisation.

A job (one corpus × model × seed) costs ``training.train_flops`` under compute matching, else
3 · flops_per_byte · train_bytes. GPU-hours = FLOPs / (MFU · peak FLOP/s) / 3600; a job on n GPUs
takes that divided by n in wall time. Evaluation, sizing and data preparation are not counted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from byteword.flops import TRAIN_MULTIPLIER


def job_train_flops(training: dict) -> float:
    """Training FLOPs of one job from a config's training section."""
    if training.get("train_flops") is not None:
        return float(training["train_flops"])
    if training.get("flops_per_byte") is not None:
        return TRAIN_MULTIPLIER * float(training["flops_per_byte"]) * float(training.get("train_bytes", 2_000_000))
    raise ValueError("training sets neither train_flops nor flops_per_byte, so its FLOPs are only known after "
                     "building each model; add flops_per_byte (and train_flops) to estimate GPU-hours")


def gpu_hours(config: dict, mfu: float = 0.3, gpu_tflops: float = 989.0) -> pd.DataFrame:
    """One row per training job: corpus, model, seed, train_flops, gpus, gpu_hours, wall_hours."""
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu must lie in (0, 1], got {mfu}")
    if gpu_tflops <= 0:
        raise ValueError(f"gpu_tflops must be positive, got {gpu_tflops}")
    training = config.get("training") or {}
    flops = job_train_flops(training)
    gpus = max(int(training.get("gpus_per_job", 0)), 1)
    hours = flops / (mfu * gpu_tflops * 1e12) / 3600
    rows = [{"corpus": c, "model": m, "seed": s, "train_flops": flops, "gpus": gpus, "gpu_hours": hours,
             "wall_hours": hours / gpus}
            for c in config["corpora"] for m in config["models"] for s in config.get("seeds", [0])]
    return pd.DataFrame(rows)


def report(configfile: Path, mfu: float, gpu_tflops: float) -> str:
    """The table printed by ``python -m byteword gpu-hours``: per model (each job of it alike) and the total."""
    config = yaml.safe_load(Path(configfile).read_text())
    jobs = gpu_hours(config, mfu, gpu_tflops)
    per_model = jobs.groupby("model", sort=False).agg(jobs=("seed", "size"), train_flops=("train_flops", "first"),
                                                      gpu_hours_per_job=("gpu_hours", "first"),
                                                      wall_hours_per_job=("wall_hours", "first"),
                                                      gpu_hours=("gpu_hours", "sum"))
    lines = [f"{configfile}: {len(jobs)} training jobs ({jobs['corpus'].nunique()} corpora x "
             f"{jobs['model'].nunique()} models x {jobs['seed'].nunique()} seeds) at MFU {mfu:g} of "
             f"{gpu_tflops:g} TFLOP/s per GPU, {jobs['gpus'].iloc[0]} GPU(s) per job",
             per_model.to_string(float_format=lambda x: f"{x:.3g}"),
             f"total: {jobs['gpu_hours'].sum():.1f} GPU-hours (training only)"]
    return "\n".join(lines)
