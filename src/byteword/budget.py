"""GPU-hours of an experiment's training jobs, from its FLOPs budget and an assumed or measured utilisation.

A job (one corpus × model × seed) costs ``training.train_flops`` under compute matching, else
3 · flops_per_byte · train_bytes. GPU-hours = FLOPs / (MFU · peak FLOP/s) / 3600; a job on n GPUs
takes that divided by n in wall time. A model with an upstream model (BLT's entropy model) adds that
model's own job: 3 · its forward FLOPs per byte over full training windows · its ``train_bytes``. The
MFU is one assumed value, or each model's measured one from a benchmark table (``python -m
byteword.bench --gpu``): the row of the same name, else the first row of the same family, else the
assumed value. In a scaling study (config section ``scaling``) each point costs its budget, and a
learning-rate sweep point runs on the first seed only. Evaluation, sizing and data preparation are not
counted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from byteword.flops import TRAIN_MULTIPLIER, forward_flops_per_byte
from byteword.models import ModelConfig, build_model, model_config_from_dict
from byteword.record import train_config_from_dict


def job_train_flops(training: dict) -> float:
    """Training FLOPs of one job from a config's training section: its budget, or its bytes at its target."""
    tc = train_config_from_dict(training)
    if tc.train_flops is not None:
        return float(tc.train_flops)
    if tc.flops_per_byte is not None:
        return TRAIN_MULTIPLIER * tc.flops_per_byte * tc.budget_bytes()
    raise ValueError("training sets neither train_flops nor flops_per_byte, so its FLOPs are only known after "
                     "building each model; add flops_per_byte (and train_flops) to estimate GPU-hours")


def upstream_job(model: ModelConfig, context_bytes: int) -> tuple[str, str, float] | None:
    """(name, family, training FLOPs) of the upstream model a model reads, None when it reads none."""
    upstream = model.upstream
    if upstream is None:
        return None
    per_byte = forward_flops_per_byte(build_model(upstream.model), [bytes(context_bytes)])  # one full window
    return upstream.model.name, upstream.model.family, TRAIN_MULTIPLIER * per_byte * upstream.train_bytes


def model_mfu(name: str, family: str, measured: pd.DataFrame | None, assumed: float) -> tuple[float, str]:
    """A model's MFU and where it comes from: the benchmark row of its name, else the first of its family
    (rows that failed or lack an MFU are skipped), else ``assumed``."""
    if measured is not None and "mfu" in measured:
        rows = measured[measured["mfu"].notna() & (measured["mfu"] > 0)]
        for column, key in (("model", name), ("family", family)):
            match = rows[rows[column] == key]
            if len(match):
                return float(match["mfu"].iloc[0]), f"measured ({match['model'].iloc[0]})"
    return assumed, "assumed"


def gpu_hours(config: dict, mfu: float = 0.3, gpu_tflops: float = 989.0,
              measured: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per training job: corpus, model, seed, train_flops, gpus, mfu, mfu_source, gpu_hours,
    wall_hours. ``measured`` (a benchmark table: model, family, mfu) gives each model its own MFU."""
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu must lie in (0, 1], got {mfu}")
    if gpu_tflops <= 0:
        raise ValueError(f"gpu_tflops must be positive, got {gpu_tflops}")
    training = config.get("training") or {}
    gpus = max(int(training.get("gpus_per_job", 0)), 1)
    context_bytes = train_config_from_dict(training).context_bytes
    seeds = config.get("seeds", [0])
    models = {m: model_config_from_dict(m, entry) for m, entry in config["models"].items()}
    if config.get("scaling"):  # a scaling study: each point at its budget, a sweep point on the first seed only
        from byteword.scaling import study_points

        planned = [(p.config, p.budget, seeds[:1] if p.sweep else seeds)
                   for p in study_points(models, config["scaling"], training).values()]
    else:
        # a pretrained model is imported, not trained: it costs no training job
        planned = [(model, job_train_flops(training), seeds) for model in models.values() if not model.imported]
    jobs = []  # (model, family, training FLOPs, seeds): every model's job, after the upstream job it reads
    for model, flops, job_seeds in planned:
        if (upstream := upstream_job(model, context_bytes)) is not None:
            jobs.append((*upstream, job_seeds))
        jobs.append((model.name, model.family, flops, job_seeds))
    rows = []
    for m, family, job_flops, job_seeds in jobs:
        m_mfu, source = model_mfu(m, family, measured, mfu)
        hours = job_flops / (m_mfu * gpu_tflops * 1e12) / 3600
        rows += [{"corpus": c, "model": m, "seed": s, "train_flops": job_flops, "gpus": gpus, "mfu": m_mfu,
                  "mfu_source": source, "gpu_hours": hours, "wall_hours": hours / gpus}
                 for c in config["corpora"] for s in job_seeds]
    return pd.DataFrame(rows)


def report(configfile: Path, mfu: float, gpu_tflops: float, mfu_from: Path | None = None) -> str:
    """The table printed by ``python -m byteword gpu-hours``: per model (each job of it alike) and the total."""
    config = yaml.safe_load(Path(configfile).read_text())
    jobs = gpu_hours(config, mfu, gpu_tflops, pd.read_parquet(mfu_from) if mfu_from else None)
    per_model = jobs.groupby("model", sort=False).agg(jobs=("seed", "size"), train_flops=("train_flops", "first"),
                                                      mfu=("mfu", "first"), mfu_source=("mfu_source", "first"),
                                                      gpu_hours_per_job=("gpu_hours", "first"),
                                                      wall_hours_per_job=("wall_hours", "first"),
                                                      gpu_hours=("gpu_hours", "sum"))
    utilisation = f"each model's MFU from {mfu_from} (else {mfu:g})" if mfu_from else f"MFU {mfu:g}"
    lines = [f"{configfile}: {len(jobs)} training jobs ({jobs['corpus'].nunique()} corpora x "
             f"{jobs['model'].nunique()} models x {jobs['seed'].nunique()} seeds) at {utilisation} of "
             f"{gpu_tflops:g} TFLOP/s per GPU, {jobs['gpus'].iloc[0]} GPU(s) per job",
             per_model.to_string(float_format=lambda x: f"{x:.3g}"),
             f"total: {jobs['gpu_hours'].sum():.1f} GPU-hours (training only)"]
    return "\n".join(lines)
