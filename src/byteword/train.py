"""The training loop for every family: AdamW, linear warmup then cosine decay, gradient clipping,
a budget in bytes seen (equal for every model of an experiment: all families draw the same windows
from the same seeded sampler), periodic validation in bits per byte, rolling checkpoints for resume.

Scale-out options (all off on the CPU default, which stays bitwise reproducible): bf16 autocast,
gradient accumulation, activation checkpointing of backbone blocks, torch.compile, data parallelism
under torchrun (``byteword.distributed``). AdamW is fused; on CUDA, TF32 matmuls are always on. A
step's loss is its summed NLL over the GLOBAL number of predicted bytes (every rank, every
micro-batch), so any split of the global batch gives the gradient of one big batch."""

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

from byteword import checkpoint, distributed
from byteword.corpus import read_split
from byteword.data import WindowSampler, collate, eval_windows
from byteword.encode import load_encoded
from byteword.evaluation.bpb import score_windows
from byteword.flops import TRAIN_MULTIPLIER, forward_flops_per_byte
from byteword.sizing import size_to_flops_per_byte
from byteword.models import ModelConfig, build_model, param_counts
from byteword.models.layers import Block
from byteword.provenance import code_version, config_hash, package_versions, with_provenance, write_parquet

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "bf16")
# keys of the config's training section that schedule jobs rather than shape training (not hashed)
SCHEDULING_KEYS = ("gpus_per_job", "runtime_minutes", "mem_mb")


@dataclass(frozen=True)
class TrainConfig:
    context_bytes: int = 128  # window length in bytes, for training and evaluation alike
    batch_size: int = 8  # the GLOBAL batch in windows (all ranks and micro-batches), ≤ batch_size · context_bytes bytes
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
    grad_accum_steps: int = 1  # micro-batches per optimizer step; each rank reads batch_size / (ranks · this)
    precision: str = "fp32"  # "bf16": autocast to bfloat16 (weights, optimizer and evaluation stay float32)
    activation_checkpointing: bool = False  # recompute backbone blocks in backward: less memory, ~1/3 more compute
    compile: bool = False  # torch.compile the training forward (worth it on GPUs; first steps compile)

    def budget_bytes(self) -> int:
        """The bytes every model of this config trains on: budget / (3 · target) under compute matching
        (train_flops and flops_per_byte both set), else ``train_bytes``."""
        if self.train_flops is not None and self.flops_per_byte is not None:
            return int(self.train_flops / (TRAIN_MULTIPLIER * self.flops_per_byte))
        return self.train_bytes

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"training.precision {self.precision!r}: use one of {', '.join(PRECISIONS)}")
        if self.grad_accum_steps < 1:
            raise ValueError(f"training.grad_accum_steps must be at least 1, got {self.grad_accum_steps}")


def train_config_from_dict(d: dict) -> TrainConfig:
    """The typed training config from the YAML training section, without its scheduling keys."""
    return TrainConfig(**{k: v for k, v in d.items() if k not in SCHEDULING_KEYS})


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
    encoded_dir: Path | None = None  # the training split encoded by byteword.encode (else read from Parquet)
    threads: int = 1
    device: str = "cpu"  # "cuda": the GPU (this rank's under torchrun); resume there is exact up to CUDA nondeterminism

    @property
    def config(self) -> dict:
        """What a run's results depend on: its checkpoints carry it, and resume requires the same."""
        return {"model": self.model.to_dict(), "training": asdict(self.training), "seed": self.seed,
                "corpus": self.corpus}

    @property
    def config_hash(self) -> str:
        return config_hash(self.config)


def lr_at(progress: float, cfg: TrainConfig) -> float:
    """Learning rate at a fraction ``progress`` of the byte budget."""
    if progress < cfg.warmup_fraction:
        return cfg.lr * (progress + 1e-9) / cfg.warmup_fraction
    t = (progress - cfg.warmup_fraction) / max(1 - cfg.warmup_fraction, 1e-9)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not norms, biases or the BOS vector), fused: one kernel
    per parameter on CPU and GPU alike (on one CPU thread 0.7 ms a step for a demo-sized model, against
    3.4 ms for the per-tensor loop)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), fused=True)


# The data-dependent sizes of the families that draw their own units (SpaceByte's global positions,
# H-Net's chunks: one count per batch, read from the data) are traced as symbolic sizes rather than
# breaking the graph, so that one graph holds a family's whole step.
COMPILER_SETTINGS = {"capture_scalar_outputs": True, "capture_dynamic_output_shape_ops": True}


def compiled(model):
    """``torch.compile`` of a model's forward, under ``COMPILER_SETTINGS`` (set for the process: the
    graph is traced at the first call)."""
    import torch._dynamo

    torch._dynamo.config.update(COMPILER_SETTINGS)
    return torch.compile(model)


def set_activation_checkpointing(model, on: bool) -> int:
    """Switch activation checkpointing on the backbone's blocks; returns how many blocks it touched."""
    backbone = model.PARTS["backbone"]
    blocks = [m for name, m in model.named_modules() if isinstance(m, Block) and name.startswith(backbone)]
    for block in blocks:
        block.checkpointing = on
    return len(blocks)


def micro_batches(windows: list[bytes], tc: TrainConfig, ctx: distributed.Context) -> list[list[bytes]]:
    """This rank's share of the global batch ``windows``, cut into ``grad_accum_steps`` micro-batches."""
    parts = ctx.world_size * tc.grad_accum_steps
    if len(windows) % parts:
        raise ValueError(f"training.batch_size {len(windows)} must be a multiple of ranks × grad_accum_steps "
                         f"= {ctx.world_size} × {tc.grad_accum_steps}")
    mine = windows[ctx.rank::ctx.world_size]
    return [mine[i::tc.grad_accum_steps] for i in range(tc.grad_accum_steps)]


def matched_config(cfg: ModelConfig, tc: TrainConfig, windows, tokenizer,
                   seed: int) -> tuple[ModelConfig, TrainConfig]:
    """Apply the model's own learning rate and, under compute matching, size the backbone to the FLOPs
    target and derive the bytes to train (the same for every family: budget / (3 · target))."""
    if cfg.lr is not None:
        tc = dataclasses.replace(tc, lr=cfg.lr)
    if tc.flops_per_byte is None:
        return cfg, tc
    cfg, _ = size_to_flops_per_byte(cfg, tc.flops_per_byte, windows, tokenizer, seed)
    return cfg, dataclasses.replace(tc, train_bytes=tc.budget_bytes())


def train(job: TrainJob) -> pd.DataFrame | None:
    """Train one model; write model.safetensors, model.json and metrics.parquet into ``job.out_dir``.
    Under torchrun every rank trains its share and rank 0 alone writes (and returns the metrics)."""
    torch.set_num_threads(job.threads)
    ctx = distributed.init(job.device)
    try:
        return _train(job, ctx)
    finally:
        distributed.shutdown(ctx)


def _train(job: TrainJob, ctx: distributed.Context) -> pd.DataFrame | None:
    device = torch.device(ctx.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    tokenizer = None
    if job.tokenizer_path is not None:
        from byteword.tokenization import load_tokenizer

        tokenizer = load_tokenizer(job.tokenizer_path)
    valid_texts = read_split(Path(job.corpus_dir) / "valid.parquet")["text"].tolist()
    W = job.training.context_bytes
    # validation BPB as the evaluation scores it (each window scores its last half after the first); FLOPs
    # per byte on whole windows scored from their first byte, as training reads them
    valid_windows = eval_windows(valid_texts, W, W // 2, job.training.eval_bytes, tokenizer)
    flops_windows = eval_windows(valid_texts, W, W, job.training.eval_bytes, tokenizer)
    if not valid_windows:
        raise ValueError(f"validation split of {job.corpus} holds no text")
    cfg, tc = matched_config(job.model, job.training, flops_windows, tokenizer, job.seed)
    torch.manual_seed(job.seed)
    model = build_model(cfg, tokenizer).to(device)
    set_activation_checkpointing(model, tc.activation_checkpointing)
    forward = compiled(model) if tc.compile else model  # shares the parameters; evaluation runs eagerly
    optimizer = make_optimizer(model, tc)
    params = list(model.parameters())
    if job.encoded_dir is not None:  # memory-mapped: a corpus of gigabytes is neither loaded nor re-split
        sampler = WindowSampler.from_encoded(load_encoded(job.encoded_dir), tc.context_bytes, job.seed, tokenizer)
    else:
        sampler = WindowSampler(read_split(Path(job.corpus_dir) / "train.parquet")["text"].tolist(),
                                tc.context_bytes, job.seed, tokenizer)
    flops_per_byte = forward_flops_per_byte(model, flops_windows, tokenizer)  # H-Net's re-measured as it learns
    step, bytes_seen, history, wall_before, train_flops = 0, 0, [], 0.0, 0.0
    run_nll, run_bytes, run_chunks = 0.0, 0, 0  # training loss and chunks since the last evaluation
    state = checkpoint.load_checkpoint(job.checkpoint_dir, model, optimizer, job.config_hash, job.config)
    if state is not None:
        step, bytes_seen, history, wall_before = state["step"], state["bytes_seen"], state["history"], state["wall"]
        run_nll, run_bytes, run_chunks = state["run_nll"], state["run_bytes"], state["run_chunks"]
        train_flops, flops_per_byte = state["train_flops"], state["flops_per_byte"]
        sampler.set_state(state["sampler"])
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
        log.info("resumed from %s at step %d (%d bytes seen)", job.checkpoint_dir, step, bytes_seen)

    start = time.time() - wall_before
    interval_start = time.time()  # throughput: training bytes per second between evaluations
    next_eval = (bytes_seen // tc.eval_every_bytes + 1) * tc.eval_every_bytes
    bar = tqdm(total=tc.train_bytes, initial=bytes_seen, unit="B", unit_scale=True, desc=cfg.name, mininterval=10,
               disable=not ctx.is_main)
    while bytes_seen < tc.train_bytes:
        lr = lr_at(bytes_seen / tc.train_bytes, tc)
        for group in optimizer.param_groups:
            group["lr"] = lr
        # every rank draws the same global batch and keeps its share, cut into micro-batches
        batches = [collate(w, model.batch_kind, tokenizer, cfg.max_word_bytes)
                   for w in micro_batches(sampler.sample(tc.batch_size), tc, ctx)]
        n_step = int(distributed.sum_across([sum(int(b.byte_mask.sum()) for b in batches)], ctx)[0])
        optimizer.zero_grad(set_to_none=True)
        nll_local, chunks_local, loss_local = 0.0, 0, 0.0
        for batch in batches:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=tc.precision == "bf16"):
                out = forward(batch.to(device))
            # summed NLL over the global byte count; auxiliary losses averaged over micro-batches and ranks
            loss = out.nll_sum / n_step + out.aux_loss / (ctx.world_size * tc.grad_accum_steps)
            loss.backward()
            nll_local += float(out.nll_sum.detach())
            loss_local += float(loss.detach())
            if out.boundaries is not None:
                chunks_local += int((out.boundaries & out.byte_mask).sum())
        distributed.sum_gradients(params, ctx)
        nll_step, chunks_step, loss_step = distributed.sum_across([nll_local, chunks_local, loss_local], ctx)
        if not math.isfinite(loss_step):
            raise FloatingPointError(f"{cfg.name}: loss is {loss_step} at step {step + 1}; last good checkpoint "
                                     f"in {job.checkpoint_dir}")
        torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
        optimizer.step()
        step += 1
        bytes_seen += n_step
        run_nll, run_bytes, run_chunks = run_nll + nll_step, run_bytes + n_step, run_chunks + int(chunks_step)
        train_flops += TRAIN_MULTIPLIER * flops_per_byte * n_step
        bar.update(n_step)
        done = bytes_seen >= tc.train_bytes
        if (bytes_seen >= next_eval or done) and ctx.is_main:
            bytes_per_second = run_bytes / max(time.time() - interval_start, 1e-9)
            valid = score_windows(model, valid_windows, tokenizer)
            valid_bpb = valid.bpb
            if cfg.family == "hnet":  # its FLOPs follow the boundaries it learns to draw: the interval just
                # run is charged at the mean of the rates at its start and end, not at its start's alone
                measured = forward_flops_per_byte(model, flops_windows, tokenizer)
                train_flops += TRAIN_MULTIPLIER * (measured - flops_per_byte) / 2 * run_bytes
                flops_per_byte = measured
            # bytes per chunk: words, patches or learned chunks (NaN for flat models), in training and validation
            history.append({"step": step, "bytes_seen": bytes_seen, "epochs": bytes_seen / len(sampler.data),
                            "train_flops": train_flops, "flops_per_byte": flops_per_byte,
                            "train_bpb": run_nll / (math.log(2) * run_bytes), "valid_bpb": valid_bpb, "lr": lr,
                            "train_bytes_per_chunk": run_bytes / run_chunks if run_chunks else math.nan,
                            "valid_bytes_per_chunk": valid.n_bytes.sum() / valid.n_chunks.sum()
                            if valid.n_chunks.sum() else math.nan,
                            "target_bytes_per_chunk": cfg.target_chunk_bytes if cfg.family == "hnet" else math.nan,
                            "bytes_per_second": bytes_per_second, "peak_gpu_memory_mb": peak_gpu_memory_mb(device),
                            "wall_seconds": time.time() - start})
            bar.set_postfix(valid_bpb=f"{valid_bpb:.3f}")
            log.info("step %d bytes %d train_bpb %.4f valid_bpb %.4f bytes/s %.0f", step, bytes_seen,
                     history[-1]["train_bpb"], valid_bpb, bytes_per_second)
            interval_start = time.time()
        if bytes_seen >= next_eval or done:
            run_nll, run_bytes, run_chunks = 0.0, 0, 0
            next_eval += tc.eval_every_bytes
        if step % tc.checkpoint_every_steps == 0 and not done and ctx.is_main:
            checkpoint.save_checkpoint(job.checkpoint_dir, model, optimizer, {
                "config_hash": job.config_hash, "config": job.config, "step": step, "bytes_seen": bytes_seen,
                "history": history, "run_nll": run_nll, "run_bytes": run_bytes, "run_chunks": run_chunks,
                "train_flops": train_flops, "flops_per_byte": flops_per_byte, "sampler": sampler.state(),
                "torch_rng": torch.get_rng_state().tolist(),
                "wall": time.time() - start})
    bar.close()
    if not ctx.is_main:
        return None

    meta = {"model": cfg.to_dict(), "training": asdict(tc), "seed": job.seed, "experiment": job.experiment,
            "corpus": job.corpus, "tokenizer": cfg.tokenizer if cfg.input == "bpe" else "bytes",
            "config_hash": job.config_hash, "code_version": code_version(), "packages": package_versions(),
            "flops_per_byte": flops_per_byte, "steps": step, "bytes_seen": bytes_seen,
            "train_flops": train_flops, "flops_per_byte_target": tc.flops_per_byte, "world_size": ctx.world_size,
            **param_counts(model)}
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


def peak_gpu_memory_mb(device: torch.device) -> float:
    """Peak memory allocated on ``device`` so far in MiB; NaN off the GPU."""
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else math.nan
