"""Exact resume through the real workflow: a pretrain job killed with SIGKILL after its first
checkpoint continues from it when Snakemake runs again with --rerun-incomplete, and ends with the
same weights (bitwise) and validation BPB as an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import json

import pandas as pd
import torch
from safetensors.torch import load_file

from byteword.models import LEVELS, model_config_from_dict
from byteword.record import TrainConfig
from byteword.train import TrainJob, train

from test_workflow import ENV, ROOT, snakemake

TARGET = "results/pretrain/enwiki/bytes/seed0/model.safetensors"
# long enough (~40 steps) that the kill lands after the first checkpoint (step 10) and before the end
LONGER = """training:
  context_bytes: 128
  batch_size: 8
  train_bytes: 40000
  eval_every_bytes: 10000
  checkpoint_every_steps: 10
models:
  bytes: {family: transformer, backbone: {d_model: 64, n_layers: 2, n_heads: 2}}
"""


def train_processes(workdir: Path) -> list[int]:
    """Pids of ``python -m byteword train`` processes running in ``workdir``."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if b"byteword" in cmdline and b"train" in cmdline and Path(os.readlink(entry / "cwd")) == workdir:
                pids.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return pids


def uninterrupted_run(run_dir: Path, corpus_dir: Path, out: Path):
    """The same job trained again in one go, rebuilt from the resumed run's model.json (whose config
    hash proves it is the same job)."""
    meta = json.loads((run_dir / "model.json").read_text())
    entry = {k: v for k, v in meta["model"].items() if k != "name" and not (k in LEVELS and v is None)}
    job = TrainJob(experiment=meta["experiment"], corpus=meta["corpus"],
                   model=model_config_from_dict(meta["model"]["name"], entry),
                   training=TrainConfig(**meta["training"]), seed=meta["seed"], corpus_dir=corpus_dir,
                   out_dir=out / "run", checkpoint_dir=out / "ckpt")
    assert job.config_hash == meta["config_hash"]
    metrics = train(job)
    return load_file(job.out_dir / "model.safetensors"), metrics


def test_sigkilled_training_resumes_to_identical_weights(tmp_path):
    (tmp_path / "longer.yaml").write_text(LONGER)
    args = [TARGET, "--cores", "1", "--configfile", str(ROOT / "tests/tiny_config.yaml"), "longer.yaml"]
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(ROOT / "Snakefile"), *args]
    run = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    state = tmp_path / "results/checkpoints/enwiki/bytes/seed0/state.json"
    deadline = time.time() + 300
    while not state.exists() and run.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    victims = train_processes(tmp_path)
    assert state.exists() and victims, "training ended (or never started) before its first checkpoint"
    for pid in victims:  # the training process first, then Snakemake itself: nothing gets to clean up
        os.kill(pid, signal.SIGKILL)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert not (tmp_path / TARGET).exists()

    snakemake(*args, "--unlock", cwd=tmp_path)  # a killed Snakemake leaves its lock behind
    snakemake(*args, "--rerun-incomplete", cwd=tmp_path)
    log = (tmp_path / "results/logs/pretrain/enwiki/bytes/seed0.log").read_text()
    assert "resumed from" in log
    run_dir = tmp_path / "results/pretrain/enwiki/bytes/seed0"
    resumed = load_file(run_dir / "model.safetensors"), pd.read_parquet(run_dir / "metrics.parquet")

    whole = uninterrupted_run(run_dir, tmp_path / "results/corpus/enwiki", tmp_path / "whole")
    (wa, ma), (wb, mb) = resumed, whole
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    cols, losses = ["step", "bytes_seen", "train_flops", "metric", "value"], ["train_bpb", "valid_bpb"]
    pd.testing.assert_frame_equal(ma.loc[ma["metric"].isin(losses), cols], mb.loc[mb["metric"].isin(losses), cols],
                                  check_exact=True, check_dtype=False)
