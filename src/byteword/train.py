"""The training loop for every family: AdamW, linear warmup then cosine decay, gradient clipping,
a budget in bytes seen (equal for every model of an experiment: all families draw the same windows
from the same seeded sampler), periodic validation in bits per byte, rolling checkpoints for resume."""

from __future__ import annotations

import dataclasses
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from byteword import checkpoint
from byteword.corpus import read_split
from byteword.data import WindowSampler, collate, document_windows
from byteword.evaluation.bpb import score_windows
from byteword.flops import TRAIN_MULTIPLIER, forward_flops_per_byte
from byteword.sizing import size_to_flops_per_byte
from byteword.models import ModelConfig, build_model, param_counts
from byteword.provenance import code_version, config_hash, package_versions, with_provenance, write_parquet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    context_bytes: int = 128  # window length in bytes, for training and evaluation alike
    batch_size: int = 8
    train_bytes: int = 2_000_000  # the budget: bytes seen (derived from the two below when they are set)
    flops_per_byte: float | None = None  # compute matching: size each backbone to this forward FLOPs/byte
    train_flops: float | None = None  # compute matching: training FLOPs budget; bytes = budget / (3 · target)
    lr: float = 3e-3
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    warmup_fraction: float = 0.05
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every_bytes: int = 250_000
    eval_bytes: int = 32_768  # validation bytes scored at each evaluation
    checkpoint_every_steps: int = 100


@dataclass(frozen=True)
class TrainJob:
    experiment: str
    corpus: str
    model: ModelConfig
    training: TrainConfig
    seed: int
    corpus_dir: Path
    out_dir: Path
    checkpoint_dir: Path
    tokenizer_path: Path | None = None
    threads: int = 1
    device: str = "cpu"  # "cuda" trains on the GPU in float32 (resume there is exact up to CUDA's nondeterminism)

    @property
    def config_hash(self) -> str:
        return config_hash({"model": self.model.to_dict(), "training": asdict(self.training), "seed": self.seed,
                            "corpus": self.corpus})


def lr_at(progress: float, cfg: TrainConfig) -> float:
    """Learning rate at a fraction ``progress`` of the byte budget."""
    if progress < cfg.warmup_fraction:
        return cfg.lr * (progress + 1e-9) / cfg.warmup_fraction
    t = (progress - cfg.warmup_fraction) / max(1 - cfg.warmup_fraction, 1e-9)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not norms, biases or the BOS vector)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95))


def matched_config(cfg: ModelConfig, tc: TrainConfig, windows, tokenizer,
                   seed: int) -> tuple[ModelConfig, TrainConfig]:
    """Apply the model's own learning rate and, under compute matching, size the backbone to the FLOPs
    target and derive the bytes to train (the same for every family: budget / (3 · target))."""
    if cfg.lr is not None:
        tc = dataclasses.replace(tc, lr=cfg.lr)
    if tc.flops_per_byte is None:
        return cfg, tc
    cfg, _ = size_to_flops_per_byte(cfg, tc.flops_per_byte, windows, tokenizer, seed)
    if tc.train_flops is not None:
        tc = dataclasses.replace(tc, train_bytes=int(tc.train_flops / (TRAIN_MULTIPLIER * tc.flops_per_byte)))
    return cfg, tc


def train(job: TrainJob) -> pd.DataFrame:
    """Train one model; write model.safetensors, model.json and metrics.parquet into ``job.out_dir``."""
    torch.set_num_threads(job.threads)
    tokenizer = None
    if job.tokenizer_path is not None:
        from byteword.tokenization import load_tokenizer

        tokenizer = load_tokenizer(job.tokenizer_path)
    train_texts = read_split(Path(job.corpus_dir) / "train.parquet")["text"].tolist()
    valid_texts = read_split(Path(job.corpus_dir) / "valid.parquet")["text"].tolist()
    valid_windows = document_windows(valid_texts, job.training.context_bytes, job.training.eval_bytes)
    if not valid_windows:
        raise ValueError(f"validation split of {job.corpus} holds no full window of {job.training.context_bytes} "
                         f"bytes")
    cfg, tc = matched_config(job.model, job.training, valid_windows, tokenizer, job.seed)
    torch.manual_seed(job.seed)
    model = build_model(cfg, tokenizer).to(job.device)
    optimizer = make_optimizer(model, tc)
    sampler = WindowSampler(train_texts, tc.context_bytes, job.seed)
    flops_per_byte = forward_flops_per_byte(model, valid_windows, tokenizer)  # H-Net's re-measured as it learns
    step, bytes_seen, history, wall_before, train_flops = 0, 0, [], 0.0, 0.0
    run_nll, run_bytes, run_chunks = 0.0, 0, 0  # training loss and chunks since the last evaluation
    state = checkpoint.load_checkpoint(job.checkpoint_dir, model, optimizer, job.config_hash)
    if state is not None:
        step, bytes_seen, history, wall_before = state["step"], state["bytes_seen"], state["history"], state["wall"]
        run_nll, run_bytes, run_chunks = state["run_nll"], state["run_bytes"], state["run_chunks"]
        train_flops, flops_per_byte = state["train_flops"], state["flops_per_byte"]
        sampler.set_state(state["sampler"])
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
        log.info("resumed from %s at step %d (%d bytes seen)", job.checkpoint_dir, step, bytes_seen)

    start = time.time() - wall_before
    next_eval = (bytes_seen // tc.eval_every_bytes + 1) * tc.eval_every_bytes
    bar = tqdm(total=tc.train_bytes, initial=bytes_seen, unit="B", unit_scale=True, desc=cfg.name, mininterval=10)
    while bytes_seen < tc.train_bytes:
        lr = lr_at(bytes_seen / tc.train_bytes, tc)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = collate(sampler.sample(tc.batch_size), model.batch_kind, tokenizer, cfg.max_word_bytes)
        out = model(batch.to(job.device))
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        optimizer.step()
        step += 1
        bytes_seen += out.n_bytes
        run_nll, run_bytes = run_nll + float(out.nll_sum.detach()), run_bytes + out.n_bytes
        if out.boundaries is not None:
            run_chunks += int((out.boundaries & out.byte_mask).sum())
        train_flops += TRAIN_MULTIPLIER * flops_per_byte * out.n_bytes
        bar.update(out.n_bytes)
        loss = float(out.loss.detach())
        if not math.isfinite(loss):
            raise FloatingPointError(f"{cfg.name}: loss is {loss} at step {step}; last good checkpoint "
                                     f"in {job.checkpoint_dir}")
        done = bytes_seen >= tc.train_bytes
        if bytes_seen >= next_eval or done:
            valid = score_windows(model, valid_windows, tokenizer)
            valid_bpb = valid.bpb
            # bytes per chunk: words, patches or learned chunks (NaN for flat models), in training and validation
            history.append({"step": step, "bytes_seen": bytes_seen, "epochs": bytes_seen / len(sampler.data),
                            "train_flops": train_flops, "flops_per_byte": flops_per_byte,
                            "train_bpb": run_nll / (math.log(2) * run_bytes), "valid_bpb": valid_bpb, "lr": lr,
                            "train_bytes_per_chunk": run_bytes / run_chunks if run_chunks else math.nan,
                            "valid_bytes_per_chunk": valid.n_bytes.sum() / valid.n_chunks.sum()
                            if valid.n_chunks.sum() else math.nan,
                            "target_bytes_per_chunk": cfg.target_chunk_bytes if cfg.family == "hnet" else math.nan,
                            "wall_seconds": time.time() - start})
            bar.set_postfix(valid_bpb=f"{valid_bpb:.3f}")
            log.info("step %d bytes %d train_bpb %.4f valid_bpb %.4f", step, bytes_seen, history[-1]["train_bpb"],
                     valid_bpb)
            run_nll, run_bytes, run_chunks = 0.0, 0, 0
            next_eval += tc.eval_every_bytes
            if cfg.family == "hnet":  # its FLOPs follow the boundaries it learns to draw
                flops_per_byte = forward_flops_per_byte(model, valid_windows, tokenizer)
        if step % tc.checkpoint_every_steps == 0 and not done:
            checkpoint.save_checkpoint(job.checkpoint_dir, model, optimizer, {
                "config_hash": job.config_hash, "step": step, "bytes_seen": bytes_seen, "history": history,
                "run_nll": run_nll, "run_bytes": run_bytes, "run_chunks": run_chunks, "train_flops": train_flops,
                "flops_per_byte": flops_per_byte, "sampler": sampler.state(),
                "torch_rng": torch.get_rng_state().tolist(),
                "wall": time.time() - start})
    bar.close()

    meta = {"model": cfg.to_dict(), "training": asdict(tc), "seed": job.seed, "experiment": job.experiment,
            "corpus": job.corpus, "tokenizer": cfg.tokenizer if cfg.input == "bpe" else "bytes",
            "config_hash": job.config_hash, "code_version": code_version(), "packages": package_versions(),
            "flops_per_byte": flops_per_byte, "steps": step, "bytes_seen": bytes_seen,
            "train_flops": train_flops, "flops_per_byte_target": tc.flops_per_byte, **param_counts(model)}
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = with_provenance(pd.DataFrame(history), experiment=job.experiment, corpus=job.corpus,
                              tokenizer=meta["tokenizer"], model=cfg.name, seed=job.seed, cfg_hash=job.config_hash)
    write_parquet(metrics, out_dir / "metrics.parquet")
    if job.tokenizer_path is not None:  # a BPE model's folder carries its tokenizer, so it loads on its own
        shutil.copyfile(job.tokenizer_path, out_dir / "tokenizer.json")
    checkpoint.save_final(model, meta, out_dir)
    shutil.rmtree(job.checkpoint_dir, ignore_errors=True)  # the final model supersedes it
    return metrics
