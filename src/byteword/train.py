"""The training loop for every family: AdamW, linear warmup then cosine decay, gradient clipping,
a budget in bytes seen (equal for every model of an experiment: all families draw their windows from
the same seeded starts; a BPE model's end on token boundaries), periodic validation in bits per byte,
rolling checkpoints for resume.

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
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from byteword import checkpoint, distributed
from byteword.api import load
from byteword.batch_stream import BatchStream
from byteword.corpus import read_split
from byteword.data import WindowSampler, eval_windows
from byteword.encode import load_encoded
from byteword.evaluation.bpb import score_windows
from byteword.flops import TRAIN_MULTIPLIER, forward_flops_per_byte
from byteword.models import ModelConfig, build_model, param_counts
from byteword.models.layers import Block
from byteword.provenance import code_version, config_hash, package_versions, with_provenance, write_parquet
from byteword.record import RunRecord, TrainConfig
from byteword.sizing import size_to_flops_per_byte

log = logging.getLogger(__name__)
# where in training a row of the log stands; every other column of the history is a metric of the log's
# long form (metrics.parquet: these columns, then metric and value)
STEP_COLUMNS = ["step", "bytes_seen", "epochs", "train_flops", "lr", "wall_seconds"]


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
    upstream_dir: Path | None = None  # the trained upstream model a model reads (``ModelConfig.upstream``)
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


def trained_parameters(model) -> list[torch.nn.Parameter]:
    """The parameters training updates, in the model's order: not a frozen upstream model's."""
    return [p for p in model.parameters() if p.requires_grad]


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not norms, biases or the BOS vector), fused: one kernel
    per parameter on CPU and GPU alike (on one CPU thread 0.7 ms a step for a demo-sized model, against
    3.4 ms for the per-tensor loop)."""
    trained = trained_parameters(model)
    decay = [p for p in trained if p.dim() >= 2]
    rest = [p for p in trained if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), fused=True)


# The data-dependent sizes of the families that draw their own units (SpaceByte's global positions,
# H-Net's chunks: one count per batch, read from the data) are traced as symbolic sizes rather than
# breaking the graph, so that one graph holds a family's whole forward. A family with static shapes
# compiles one graph per capacity of its batches (four per doubling of a size): 16 leave room for four
# doublings of HAT's word count at one window width before new sizes would run eagerly (dynamo's default: 8).
COMPILER_SETTINGS = {"capture_scalar_outputs": True, "capture_dynamic_output_shape_ops": True, "recompile_limit": 16}


def compiled(model, backend: str = "inductor"):
    """``torch.compile`` of a model's forward, under ``COMPILER_SETTINGS`` (set for the process: the
    graph is traced at the first call, after this returns). A model with ``static_shapes`` compiles one
    graph of fixed shapes per capacity of its batches (fed ``pad_to_capacity`` batches: ``training_batches``);
    the others one graph whose sizes turn symbolic once a second size is seen."""
    import warnings

    import torch._dynamo

    # on a CPU the rotary turn stays a complex product, which inductor runs as an eager kernel, on purpose
    # (``byteword.models.layers.rotary``); its warning that this may be slow would only mislead
    warnings.filterwarnings("ignore", message="Torchinductor does not support code generation for complex")
    for key, value in COMPILER_SETTINGS.items():
        setattr(torch._dynamo.config, key, value)
    static = getattr(model, "static_shapes", False)  # False for a model from outside byteword (the bench's Llama)
    return torch.compile(model, backend=backend, dynamic=False if static else None)


def training_batches(model, tokenizer, compile: bool):
    """windows -> the batch a training step reads: ``model.collate``'s, padded to capacity when compiled."""
    if compile:
        return lambda windows: model.pad_to_capacity(model.collate(windows, tokenizer))
    return lambda windows: model.collate(windows, tokenizer)


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


@dataclass
class TrainingState:
    """Everything a resumed run needs besides the weights and the optimizer, saved and restored as one."""
    step: int = 0
    bytes_seen: int = 0
    history: list[dict] = field(default_factory=list)  # one row per evaluation
    wall: float = 0.0  # seconds trained before this process
    run_nll: float = 0.0  # training NLL, bytes and chunks since the last evaluation
    run_bytes: int = 0
    run_chunks: int = 0
    train_flops: float = 0.0
    flops_per_byte: float = 0.0  # the rate the next bytes are charged at


def save_state(job: TrainJob, model, optimizer, state: TrainingState, stream: BatchStream, wall: float) -> None:
    """A rolling checkpoint: weights, optimizer, ``state`` (its wall time now), the generators of the training
    windows (as of the next step's draw) and of torch, and the config with its hash."""
    checkpoint.save_checkpoint(job.checkpoint_dir, model, optimizer, {
        "config_hash": job.config_hash, "config": job.config, **asdict(state), "wall": wall,
        "sampler": stream.state(), "torch_rng": torch.get_rng_state().tolist()})


def restore_state(job: TrainJob, model, optimizer, sampler) -> TrainingState | None:
    """The saved state of ``job``'s checkpoint with model, optimizer, sampler and RNG restored; None if none."""
    saved = checkpoint.load_checkpoint(job.checkpoint_dir, model, optimizer, job.config_hash, job.config)
    if saved is None:
        return None
    state = TrainingState(**{f.name: saved[f.name] for f in fields(TrainingState)})
    sampler.set_state(saved["sampler"])
    torch.set_rng_state(torch.tensor(saved["torch_rng"], dtype=torch.uint8))
    log.info("resumed from %s at step %d (%d bytes seen)", job.checkpoint_dir, state.step, state.bytes_seen)
    return state


FIT_WINDOWS = 256  # training windows that ``fit_to_training_split`` reads


def prefetches(device: torch.device) -> bool:
    """Whether the next step's batches are collated on a background thread: on a GPU, which would otherwise
    wait for them; not on a CPU, whose cores the collation would take from training (see ``BatchStream``)."""
    return device.type == "cuda"


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
    upstream = None
    if job.upstream_dir is not None:
        upstream = load(job.upstream_dir).model
    elif cfg.upstream is not None:
        log.warning("%s: no trained upstream model given; it reads an untrained %s", cfg.name, cfg.upstream.model.name)
    torch.manual_seed(job.seed)
    model = build_model(cfg, tokenizer, upstream).to(device)
    set_activation_checkpointing(model, tc.activation_checkpointing)
    forward = compiled(model) if tc.compile else model  # shares the parameters; evaluation runs eagerly
    optimizer = make_optimizer(model, tc)
    params = trained_parameters(model)
    if job.encoded_dir is not None:  # memory-mapped: a corpus of gigabytes is neither loaded nor re-split
        sampler = WindowSampler.from_encoded(load_encoded(job.encoded_dir), tc.context_bytes, job.seed, tokenizer)
    else:
        sampler = WindowSampler(read_split(Path(job.corpus_dir) / "train.parquet")["text"].tolist(),
                                tc.context_bytes, job.seed, tokenizer)
    s = restore_state(job, model, optimizer, sampler)  # a resumed model has what it fitted in its state dict
    if s is None:
        # what the model fixes from training windows before its first step, on windows of their own seed
        # (the training stream is left as it is); then its FLOPs per byte (re-measured as it learns, if it does)
        model.fit_to_training_split(sampler.with_seed(job.seed + 1).sample(FIT_WINDOWS))
        s = TrainingState(flops_per_byte=forward_flops_per_byte(model, flops_windows, tokenizer))

    start = time.time() - s.wall
    interval_start = time.time()  # throughput: training bytes per second between evaluations
    next_eval = (s.bytes_seen // tc.eval_every_bytes + 1) * tc.eval_every_bytes
    bar = tqdm(total=tc.train_bytes, initial=s.bytes_seen, unit="B", unit_scale=True, desc=cfg.name, mininterval=10,
               disable=not ctx.is_main)
    # every rank draws the same global batch and keeps its share, cut into micro-batches
    stream = BatchStream(sampler, lambda: micro_batches(sampler.sample(tc.batch_size), tc, ctx),
                         training_batches(model, tokenizer, tc.compile), prefetches(device), device.type == "cuda")
    while s.bytes_seen < tc.train_bytes:
        lr = lr_at(s.bytes_seen / tc.train_bytes, tc)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batches = stream.next()
        n_step = int(distributed.sum_across([sum(int(b.byte_mask.sum()) for b in batches)], ctx)[0])
        optimizer.zero_grad(set_to_none=True)
        # sums kept on the device in float64 (what Python's floats held), read once a step: no wait per micro-batch
        nll_local, chunks_local, loss_local = (torch.zeros((), dtype=torch.float64, device=device) for _ in range(3))
        for batch in batches:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=tc.precision == "bf16"):
                out = forward(batch.to(device, non_blocking=True))
            # summed NLL over the global byte count; auxiliary losses averaged over micro-batches and ranks
            loss = out.nll_sum / n_step + out.aux_loss / (ctx.world_size * tc.grad_accum_steps)
            loss.backward()
            nll_local += out.nll_sum.detach().double()
            loss_local += loss.detach().double()
            if out.boundaries is not None:
                chunks_local += (out.boundaries & out.byte_mask).sum()
        distributed.sum_gradients(params, ctx)
        nll_step, chunks_step, loss_step = distributed.sum_across(
            torch.stack([nll_local, chunks_local, loss_local]).tolist(), ctx)
        if not math.isfinite(loss_step):
            raise FloatingPointError(f"{cfg.name}: loss is {loss_step} at step {s.step + 1}; last good checkpoint "
                                     f"in {job.checkpoint_dir}")
        torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
        optimizer.step()
        s.step += 1
        s.bytes_seen += n_step
        s.run_nll, s.run_bytes, s.run_chunks = s.run_nll + nll_step, s.run_bytes + n_step, s.run_chunks + int(chunks_step)
        s.train_flops += TRAIN_MULTIPLIER * s.flops_per_byte * n_step
        bar.update(n_step)
        done = s.bytes_seen >= tc.train_bytes
        if (s.bytes_seen >= next_eval or done) and ctx.is_main:
            bytes_per_second = s.run_bytes / max(time.time() - interval_start, 1e-9)
            valid = score_windows(model, valid_windows, tokenizer)
            if model.learns_its_rate:  # its FLOPs follow the boundaries it learns to draw: the interval just
                # run is charged at the mean of the rates at its start and end, not at its start's alone
                measured = forward_flops_per_byte(model, flops_windows, tokenizer)
                s.train_flops += TRAIN_MULTIPLIER * (measured - s.flops_per_byte) / 2 * s.run_bytes
                s.flops_per_byte = measured
            # bytes per chunk: words, patches or learned chunks (NaN for flat models), in training and validation
            s.history.append({"step": s.step, "bytes_seen": s.bytes_seen, "epochs": s.bytes_seen / len(sampler.data),
                              "train_flops": s.train_flops, "flops_per_byte": s.flops_per_byte,
                              "train_bpb": s.run_nll / (math.log(2) * s.run_bytes), "valid_bpb": valid.bpb, "lr": lr,
                              "train_bytes_per_chunk": s.run_bytes / s.run_chunks if s.run_chunks else math.nan,
                              "valid_bytes_per_chunk": valid.n_bytes.sum() / valid.n_chunks.sum()
                              if valid.n_chunks.sum() else math.nan,
                              "target_bytes_per_chunk": cfg.target_bytes_per_chunk,
                              "bytes_per_second": bytes_per_second, "peak_gpu_memory_mb": peak_gpu_memory_mb(device),
                              "wall_seconds": time.time() - start})
            bar.set_postfix(valid_bpb=f"{valid.bpb:.3f}")
            log.info("step %d bytes %d train_bpb %.4f valid_bpb %.4f bytes/s %.0f", s.step, s.bytes_seen,
                     s.history[-1]["train_bpb"], valid.bpb, bytes_per_second)
            interval_start = time.time()
        if s.bytes_seen >= next_eval or done:
            s.run_nll, s.run_bytes, s.run_chunks = 0.0, 0, 0
            next_eval += tc.eval_every_bytes
        if s.step % tc.checkpoint_every_steps == 0 and not done and ctx.is_main:
            save_state(job, model, optimizer, s, stream, time.time() - start)
    stream.close()
    bar.close()
    if not ctx.is_main:
        return None

    record = RunRecord(experiment=job.experiment, corpus=job.corpus, model=cfg, training=tc, seed=job.seed,
                       config_hash=job.config_hash, flops_per_byte=s.flops_per_byte, train_flops=s.train_flops,
                       steps=s.step, bytes_seen=s.bytes_seen, world_size=ctx.world_size,
                       params=param_counts(model), code_version=code_version(), packages=package_versions())
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = with_provenance(training_log(s.history), **record.identity())
    write_parquet(metrics, out_dir / "metrics.parquet")
    if job.tokenizer_path is not None:  # a BPE model's folder carries its tokenizer, so it loads on its own
        shutil.copyfile(job.tokenizer_path, out_dir / "tokenizer.json")
    checkpoint.save_final(model, record.to_json(), out_dir)
    shutil.rmtree(job.checkpoint_dir, ignore_errors=True)  # the final model supersedes it
    return metrics


def training_log(history: list[dict]) -> pd.DataFrame:
    """The evaluation history as a long table: ``STEP_COLUMNS``, then one row per metric (train_bpb,
    valid_bpb, bytes per chunk, throughput, ...) with its value, evaluations in order within each metric."""
    return pd.DataFrame(history).melt(id_vars=STEP_COLUMNS, var_name="metric", value_name="value")


def log_metric(metrics: pd.DataFrame, name: str) -> pd.DataFrame:
    """One metric of a training log: its ``STEP_COLUMNS`` and value, one row per evaluation."""
    return metrics.loc[metrics["metric"] == name, [*STEP_COLUMNS, "value"]].reset_index(drop=True)


def peak_gpu_memory_mb(device: torch.device) -> float:
    """Peak memory allocated on ``device`` so far in MiB; NaN off the GPU."""
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else math.nan
