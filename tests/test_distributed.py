"""Data parallelism and the other ways of splitting a step: two gloo ranks under torchrun, gradient
accumulation and activation checkpointing all reproduce one process reading the whole global batch."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from byteword.models import model_config_from_dict
from byteword.record import TrainConfig
from byteword.train import TrainJob, log_metric, train

from conftest import FAMILY_ENTRIES, toy_corpus

# every step is evaluated, so the metrics hold one training loss per step
TRAINING = dict(context_bytes=48, batch_size=4, train_bytes=1500, eval_every_bytes=1, eval_bytes=200,
                checkpoint_every_steps=1000)
COMPARED = ["step", "bytes_seen", "metric", "value"]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return toy_corpus(tmp_path_factory.mktemp("corpus"), n_docs=20, words_per_doc=120)


def single_process(tmp_path, corpus_dir, kind, **training):
    job = TrainJob(experiment="t", corpus="toy", model=model_config_from_dict(kind, FAMILY_ENTRIES[kind]),
                   training=TrainConfig(**{**TRAINING, **training}), seed=1, corpus_dir=corpus_dir,
                   out_dir=tmp_path / "run", checkpoint_dir=tmp_path / "ckpt")
    return train(job), load_file(job.out_dir / "model.safetensors")


def assert_same_run(a, b, rel=1e-5):
    (ma, wa), (mb, wb) = a, b
    losses = ma["metric"].isin(["train_bpb", "valid_bpb"])
    assert losses.sum() > 6
    pd.testing.assert_frame_equal(ma.loc[losses, COMPARED], mb.loc[mb["metric"].isin(["train_bpb", "valid_bpb"]),
                                                                 COMPARED], rtol=rel, check_dtype=False)
    assert wa.keys() == wb.keys() and all(torch.allclose(wa[k], wb[k], rtol=1e-4, atol=1e-5) for k in wa)


@pytest.mark.parametrize("kind", ["bytes", "hat"])
def test_two_gloo_ranks_under_torchrun_match_one_process(tmp_path, corpus_dir, kind):
    one = single_process(tmp_path / "one", corpus_dir, kind)
    spec = {"experiment": "t", "corpus": "toy", "model_name": kind, "model": FAMILY_ENTRIES[kind],
            "training": TRAINING}
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "byteword",
           "train", "--spec", json.dumps(spec), "--seed", "1", "--corpus-dir", str(corpus_dir), "--out-dir", str(out),
           "--checkpoint-dir", str(tmp_path / "ddp_ckpt")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    two = pd.read_parquet(out / "metrics.parquet"), load_file(out / "model.safetensors")
    assert json.loads((out / "model.json").read_text())["world_size"] == 2
    assert_same_run(one, two)


@pytest.mark.parametrize("kind", ["bytes", "hat"])
def test_gradient_accumulation_equals_one_big_batch(tmp_path, corpus_dir, kind):
    assert_same_run(single_process(tmp_path / "one", corpus_dir, kind),
                    single_process(tmp_path / "accum", corpus_dir, kind, grad_accum_steps=2))


def test_activation_checkpointing_leaves_training_unchanged(tmp_path, corpus_dir):
    assert_same_run(single_process(tmp_path / "plain", corpus_dir, "hat"),
                    single_process(tmp_path / "ckpt", corpus_dir, "hat", activation_checkpointing=True), rel=1e-6)


def test_batch_that_does_not_split_evenly_is_refused(tmp_path, corpus_dir):
    with pytest.raises(ValueError, match="multiple of ranks"):
        single_process(tmp_path, corpus_dir, "bytes", grad_accum_steps=3)


def test_bf16_autocast_trains_on_cpu(tmp_path, corpus_dir):
    metrics, _ = single_process(tmp_path, corpus_dir, "bytes", precision="bf16", train_bytes=400)
    assert log_metric(metrics, "train_bpb")["value"].between(0.5, 12).all()
    assert log_metric(metrics, "peak_gpu_memory_mb")["value"].isna().all()
    assert (log_metric(metrics, "bytes_per_second")["value"] > 0).all()
