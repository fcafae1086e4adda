"""The training loop end to end on a small local corpus: outputs, exact resume, refusal, the load API."""

import dataclasses
import json
from importlib import metadata

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

import byteword
import byteword.train as train_module
from byteword import checkpoint
from byteword.data import eval_windows
from byteword.evaluation.bpb import score_windows
from byteword.models import model_config_from_dict
from byteword.record import TrainConfig
from byteword.train import TrainJob, log_metric, train

from conftest import FAMILY_ENTRIES, toy_corpus



@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return toy_corpus(tmp_path_factory.mktemp("corpus"), n_docs=30, words_per_doc=150)


def job(tmp_path, corpus_dir, kind="hat", **training):
    tc = TrainConfig(context_bytes=48, batch_size=4, train_bytes=3000, eval_every_bytes=1000, eval_bytes=1000,
                     checkpoint_every_steps=5, **training)
    return TrainJob(experiment="t", corpus="toy", model=model_config_from_dict(kind, FAMILY_ENTRIES[kind]),
                    training=tc, seed=1, corpus_dir=corpus_dir, out_dir=tmp_path / "run",
                    checkpoint_dir=tmp_path / "ckpt")


def test_training_writes_self_describing_outputs(tmp_path, corpus_dir):
    j = job(tmp_path, corpus_dir)
    metrics = train(j)
    assert {"model.safetensors", "model.json", "metrics.parquet"} <= {p.name for p in j.out_dir.iterdir()}
    assert not j.checkpoint_dir.exists()  # the final model supersedes rolling checkpoints
    meta = json.loads((j.out_dir / "model.json").read_text())
    assert meta["packages"]["torch"] == metadata.version("torch")
    assert meta["bytes_seen"] >= 3000 and meta["flops_per_byte"] > 0
    valid_bpb = log_metric(metrics, "valid_bpb")  # the log is long: one row per metric and evaluation
    assert valid_bpb["bytes_seen"].is_monotonic_increasing and valid_bpb["bytes_seen"].iloc[-1] == meta["bytes_seen"]
    pd.testing.assert_frame_equal(metrics, pd.read_parquet(j.out_dir / "metrics.parquet"), check_dtype=False)
    assert (metrics[["experiment", "corpus", "model", "seed", "config_hash", "code_version"]] != "").all().all()
    # the load API scores the validation windows exactly as the training loop did at its last evaluation
    loaded = byteword.load(j.out_dir)
    valid = pd.read_parquet(corpus_dir / "valid.parquet")["text"]
    windows = eval_windows(valid, 48, 24, 1000)
    assert score_windows(loaded.model, windows).bpb == pytest.approx(valid_bpb["value"].iloc[-1], abs=1e-9)
    text = loaded.generate("alpha beta", n_bytes=8, temperature=0)
    assert text.startswith("alpha beta") and len(text.encode()) == len("alpha beta") + 8
    if not torch.cuda.is_available():  # asking for a GPU that is not there names the problem
        with pytest.raises(RuntimeError, match="sees no CUDA device"):
            byteword.load(j.out_dir, device="cuda")


@pytest.mark.parametrize("kind, prefetch", [("bytes", False), ("hat", False), ("hnet", False), ("hat", True)])
def test_interrupted_training_resumes_to_identical_weights(tmp_path, corpus_dir, monkeypatch, kind, prefetch):
    """A run killed after its second checkpoint resumes to the weights and log of a run never killed; with
    ``prefetch`` the killed run collates each next step on a background thread, as on a GPU, so its draws,
    its checkpoints' sampler state and its steps must be those of the in-process run."""
    whole = job(tmp_path / "whole", corpus_dir, kind)
    train(whole)

    monkeypatch.setattr(train_module, "prefetches", lambda device: prefetch)
    broken = job(tmp_path / "broken", corpus_dir, kind)
    real_save, calls = checkpoint.save_checkpoint, []

    def save_then_die(*args):
        real_save(*args)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated kill after the second checkpoint")

    monkeypatch.setattr(checkpoint, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(broken)
    monkeypatch.setattr(checkpoint, "save_checkpoint", real_save)
    assert broken.checkpoint_dir.exists()
    train(broken)  # resumes at step 10

    a, b = load_file(whole.out_dir / "model.safetensors"), load_file(broken.out_dir / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    compared = ["train_bpb", "valid_bpb", "flops_per_byte", "train_bytes_per_chunk", "valid_bytes_per_chunk"]
    ma, mb = pd.read_parquet(whole.out_dir / "metrics.parquet"), pd.read_parquet(broken.out_dir / "metrics.parquet")
    cols = ["step", "bytes_seen", "train_flops", "metric", "value"]
    pd.testing.assert_frame_equal(ma.loc[ma["metric"].isin(compared), cols], mb.loc[mb["metric"].isin(compared), cols])


def test_checkpoint_from_another_config_is_refused(tmp_path, corpus_dir, monkeypatch):
    first = job(tmp_path, corpus_dir, "bytes")
    monkeypatch.setattr(checkpoint, "save_checkpoint", _die_after(checkpoint.save_checkpoint))
    with pytest.raises(KeyboardInterrupt):
        train(first)
    monkeypatch.undo()
    with pytest.raises(RuntimeError, match=r"changed: training\.lr: 0\.003 -> 0\.001\); delete it"):
        train(job(tmp_path, corpus_dir, "bytes", lr=1e-3))


def test_checkpoint_holds_no_pickled_objects(tmp_path, corpus_dir, monkeypatch):
    j = job(tmp_path, corpus_dir, "hat")
    monkeypatch.setattr(checkpoint, "save_checkpoint", _die_after(checkpoint.save_checkpoint))
    with pytest.raises(KeyboardInterrupt):
        train(j)
    state = json.loads((j.checkpoint_dir / "state.json").read_text())  # sampler and RNG states as plain JSON
    assert state["config"]["model"]["family"] == "hierarchical" and isinstance(state["torch_rng"], list)
    optimizer = torch.load(j.checkpoint_dir / "optimizer.pt", weights_only=True)  # tensors and numbers only
    assert optimizer["state"] and load_file(j.checkpoint_dir / "model.safetensors")


@pytest.mark.parametrize("name", checkpoint.CHECKPOINT_FILES)
def test_a_damaged_checkpoint_is_refused_naming_its_file_and_the_remedy(tmp_path, corpus_dir, monkeypatch, name):
    j = job(tmp_path, corpus_dir, "bytes")
    monkeypatch.setattr(checkpoint, "save_checkpoint", _die_after(checkpoint.save_checkpoint))
    with pytest.raises(KeyboardInterrupt):
        train(j)
    monkeypatch.undo()
    damaged = j.checkpoint_dir / name
    data = damaged.read_bytes()
    damaged.write_bytes(data[: min(5000, len(data) // 2)])  # a copy cut short
    with pytest.raises(checkpoint.CheckpointError, match=rf"{damaged}.*damaged.*Delete {j.checkpoint_dir}"):
        train(j)
    damaged.write_bytes(data)  # the intact copy put back: the run resumes and finishes
    assert train(j) is not None and (j.out_dir / "model.safetensors").exists()


def _die_after(save):
    def wrapped(*args):
        save(*args)
        raise KeyboardInterrupt
    return wrapped


def test_non_finite_loss_stops_naming_the_step_and_the_checkpoint(tmp_path, corpus_dir, monkeypatch):
    real_build, calls = train_module.build_model, []

    def poisoned_build(cfg, tokenizer=None, upstream=None):
        model = real_build(cfg, tokenizer, upstream)

        def poison(module, inputs, out):  # the 7th training forward returns NaN log-likelihoods
            if module.training:
                calls.append(1)
                if len(calls) == 7:
                    out.byte_logprobs = out.byte_logprobs * float("nan")
            return out

        model.register_forward_hook(poison)
        return model

    monkeypatch.setattr(train_module, "build_model", poisoned_build)
    j = job(tmp_path, corpus_dir, "bytes")
    with pytest.raises(FloatingPointError, match=rf"loss is nan at step 7; last good checkpoint in {j.checkpoint_dir}"):
        train(j)
    assert json.loads((j.checkpoint_dir / "state.json").read_text())["step"] == 5  # untouched by the bad step


def test_training_from_the_encoded_split_matches_training_from_text(tmp_path, corpus_dir):
    from byteword.encode import encode_split
    from byteword.corpus import read_split

    encode_split(read_split(corpus_dir / "train.parquet")["text"].tolist(), tmp_path / "enc")
    plain = job(tmp_path / "plain", corpus_dir, "hat")
    train(plain)
    mapped = dataclasses.replace(job(tmp_path / "mapped", corpus_dir, "hat"), encoded_dir=tmp_path / "enc")
    train(mapped)
    a, b = load_file(plain.out_dir / "model.safetensors"), load_file(mapped.out_dir / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
