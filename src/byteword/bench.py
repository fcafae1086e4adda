"""Training throughput of every family as a config file trains it, beside Hugging Face
``LlamaForCausalLM`` (the reference token-level transformer) at the byte transformer's shape.

    PYTHONPATH=src python3 -m byteword.bench --corpus results/corpus/enwiki/train.parquet [--gpu]

The models are the byte-level entries of a config (``config.yaml``, the demo, on CPU;
``configs/full.yaml`` on a GPU; BPE models need a trained tokenizer and are left out), at its context
and micro-batch, with its gradient accumulation: one timed step is one optimizer step. Batches are
collated before the clock starts, so the numbers are model throughput. Every model is built and warmed
up first, then all are timed in interleaved blocks (each block times every model for a few steps, in
an order that rotates from block to block), so that a slow spell of the machine hits them alike: each
row reports its median rate over the blocks, and its achieved FLOP rate relative to the byte
transformer's in the same block, as the median and the range over blocks; the collation rate (bytes/s
on one CPU core) is measured separately and shows whether a single-process data loader would keep up;
``--collation-only`` times that alone, for every model at the config's shape (``--config configs/full.yaml``:
the GPU shape) without training a step.
A model that learns its chunks (H-Net) is timed at its target chunk length
(``run_at_target_rate``), not at the few chunks an untrained router draws. On a GPU the step runs under bf16 autocast with TF32 matmuls; AdamW is fused
on both; model FLOPs utilisation = 3 · analytic forward FLOPs per byte · bytes/s divided by the card's
dense bf16 peak. Generation speed (greedy bytes/s through ``byteword.load``'s ``generate``, in float32)
is measured per family too. ``--compile`` and ``--activation-checkpointing`` apply those training
options to the timed step. ``--matmul-time`` (CPU) profiles each model's time in matrix products and
its FLOP-rate ratio over that time alone: how far removing every other cost could take it. One row per
model to Parquet, one figure. ``--breakdown`` (CPU) instead times where each model's step goes, level
by level (``byteword.bench_breakdown``)."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from byteword import bench_breakdown
from byteword.bench_table import matmul_columns, plot, rate_columns
from byteword.data import WindowSampler, collate
from byteword.flops import TRAIN_MULTIPLIER, forward_flops_per_byte
from byteword.models import ModelConfig, build_model, model_config_from_dict

# dense bf16 peaks from NVIDIA's data sheets; the first name found in the device name wins
PEAK_BF16 = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "A100": 312e12}


@dataclasses.dataclass(frozen=True)
class Shape:
    """What one timed step trains on: ``accum_steps`` micro-batches of ``batch_size`` windows."""
    context_bytes: int
    batch_size: int
    accum_steps: int = 1


def config_models(path: Path) -> tuple[Shape, dict[str, ModelConfig]]:
    """A config file's training shape and the typed configs of the models it trains that read raw bytes."""
    import yaml

    from byteword.record import train_config_from_dict

    cfg = yaml.safe_load(Path(path).read_text())
    tc = train_config_from_dict(cfg.get("training", {}))
    shape = Shape(tc.context_bytes, tc.batch_size // tc.grad_accum_steps, tc.grad_accum_steps)
    models = {name: model_config_from_dict(name, entry) for name, entry in cfg["models"].items()}
    return shape, {name: m for name, m in models.items() if not m.tokenizer_name and not m.imported}


def llama_reference(model: ModelConfig, context_bytes: int, vocab_size: int = 257):
    """LlamaForCausalLM at a flat model's shape (SwiGLU width 8/3·d keeps the MLP's parameters)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    bb = model.backbone
    swiglu_width = (8 * bb.d_model // 3 + 63) // 64 * 64
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=bb.d_model, intermediate_size=swiglu_width,
                      num_hidden_layers=bb.n_layers, num_attention_heads=bb.n_heads,
                      num_key_value_heads=bb.n_heads, max_position_embeddings=context_bytes + 1,
                      tie_word_embeddings=False, attn_implementation="sdpa")
    return LlamaForCausalLM(cfg)


@dataclasses.dataclass(frozen=True)
class StepOptions:
    """Training options of byteword.train applied to the timed step (both off: the plain eager step)."""
    compile: bool = False
    activation_checkpointing: bool = False

    @property
    def suffix(self) -> str:
        return "".join(f"_{k}" for k, v in dataclasses.asdict(self).items() if v)

    @property
    def label(self) -> str:
        """How the step ran, for a figure's title: "eager" or "compiled", and activation checkpointing if on."""
        return ", ".join(["compiled" if self.compile else "eager"]
                         + ["activation checkpointing"] * self.activation_checkpointing)


@dataclasses.dataclass
class Timed:
    """One model ready to be timed: the model, its training step, the bytes one step trains on, its row."""
    model: torch.nn.Module
    step: callable
    n_bytes: int
    row: dict
    rates: list = dataclasses.field(default_factory=list)  # bytes/s of each block


def prepare(name, model, batches, n_bytes: int, device, loss_fn, options: StepOptions = StepOptions(),
            accum_steps: int = 1, warmup_steps: int = 2) -> Timed:
    """Move the model to ``device``, build its optimizer and step (``accum_steps`` micro-batches, then one
    update), and warm it up (compiling, if asked) for ``warmup_steps`` and at least until every batch has
    run once, so that no graph compiles while the clock runs; on a GPU the row records the peak memory of
    this model's own steps."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    model.to(device).train()
    from byteword.train import compiled

    forward = compiled(model) if options.compile else model  # the warm-up steps compile
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)  # as byteword.train
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    rotation = itertools.cycle(batches)

    def step():
        opt.zero_grad(set_to_none=True)
        for _ in range(accum_steps):
            with autocast:
                loss = loss_fn(forward, next(rotation))
            loss.backward()
        opt.step()

    for _ in range(max(warmup_steps, -(-len(batches) // accum_steps))):
        step()
    row = {"model": name, "params": sum(p.numel() for p in model.parameters())}
    if device.type == "cuda":
        torch.cuda.synchronize()
        row["peak_memory_gb"] = (torch.cuda.max_memory_allocated() - before) / 1e9  # weights, optimizer, activations
    return Timed(model, step, n_bytes, row)


def time_interleaved(models: dict[str, Timed], blocks: int, steps_per_block: int, device) -> None:
    """Append each model's bytes/s of every block to its ``rates``: block b times every model for
    ``steps_per_block`` steps, starting from the b-th model, so no model always runs first or last."""
    names = list(models)
    for b in range(blocks if names else 0):
        for name in names[b % len(names):] + names[: b % len(names)]:
            timed = models[name]
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(steps_per_block):
                timed.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            timed.rates.append(steps_per_block * timed.n_bytes / (time.perf_counter() - start))


def generation_rate(model, prompt: str, n_bytes: int, context_bytes: int, device) -> float:
    """Greedy generation speed in bytes/s through ``LoadedModel.generate`` (each byte scores the prefix
    with all 256 candidate continuations, without a cache), after one warm-up byte."""
    from byteword.api import LoadedModel

    loaded = LoadedModel(model.to(device), None, context_bytes)
    loaded.generate(prompt, n_bytes=1, temperature=0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    loaded.generate(prompt, n_bytes=n_bytes, temperature=0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    model.cpu().train()
    return n_bytes / (time.perf_counter() - start)


def prepare_family(cfg: ModelConfig, windows: list[list[bytes]], shape: Shape, device,
                   options: StepOptions = StepOptions()) -> Timed:
    from byteword.train import set_activation_checkpointing

    torch.manual_seed(0)
    model = build_model(cfg)
    model.run_at_target_rate()  # a model that learns its chunks draws them at the length training aims at
    set_activation_checkpointing(model, options.activation_checkpointing)
    train_fpb = TRAIN_MULTIPLIER * forward_flops_per_byte(model, windows[0])
    batches, collate_rate = timed_collation(model, windows)
    if options.compile:  # as the training loop feeds a compiled step
        batches = [model.pad_to_capacity(b) for b in batches]
    timed = prepare(cfg.name, model, [b.to(device) for b in batches], step_bytes(windows, shape), device,
                    lambda m, b: m(b).loss, options, shape.accum_steps)
    timed.row.update(family=cfg.family, train_flops_per_byte=train_fpb, collate_bytes_per_second=collate_rate)
    return timed


def timed_collation(model, windows: list[list[bytes]]) -> tuple[list, float]:
    """The model's batches of each micro-batch of ``windows``, and the collation rate in bytes/s on one CPU thread."""
    start = time.perf_counter()
    batches = [model.collate(w) for w in windows]
    return batches, sum(map(batch_bytes, windows)) / (time.perf_counter() - start)


def selected(models: dict[str, ModelConfig], families: list[str]) -> dict[str, ModelConfig]:
    """The models named in ``families`` (the command line's subset), or all of them when it is empty."""
    return {name: cfg for name, cfg in models.items() if not families or name in families}


def collation_rates(corpus: Path, shape: Shape, models: dict[str, ModelConfig], families: list[str],
                    steps: int = 4) -> pd.DataFrame:
    """Collation alone, at ``shape``, on one CPU thread: each model's bytes/s over ``steps`` optimizer steps
    of fresh windows (every micro-batch of a step, as the training loop collates them), after one warm-up."""
    texts = pd.read_parquet(corpus)["text"].tolist()
    rows = []
    for name, cfg in selected(models, families).items():
        with torch.device("meta"):  # collation reads the config only: no weights to initialise
            model = build_model(cfg)
        sampler = WindowSampler(texts, shape.context_bytes, seed=0)
        draws = [[w.data for w in sampler.sample(shape.batch_size)] for _ in range(shape.accum_steps * (steps + 1))]
        model.collate(draws[0])  # warm-up: tables built on first use
        _, rate = timed_collation(model, draws[1:])
        rows.append({"model": name, "family": cfg.family, "collate_bytes_per_second": rate,
                     "shape": str(dataclasses.asdict(shape))})
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def batch_bytes(windows: list[bytes]) -> int:
    return sum(len(w) for w in windows)


def step_bytes(windows: list[list[bytes]], shape: Shape) -> float:
    """Bytes one timed step trains on: its micro-batches' mean size times their number."""
    return shape.accum_steps * float(np.mean([batch_bytes(w) for w in windows]))


def prepare_llama(cfg: ModelConfig, windows: list[list[bytes]], shape: Shape, device,
                  options: StepOptions = StepOptions()) -> Timed:
    """The reference at the byte transformer's shape, on the same windows (BOS first, as ours reads them)."""
    ids = [torch.cat([torch.full((len(w), 1), 256), collate(w, "bytes").bytes], 1) for w in windows]
    timed = prepare("llama_reference", llama_reference(cfg, shape.context_bytes), [i.to(device) for i in ids],
                    step_bytes(windows, shape), device, lambda m, b: m(input_ids=b[:, :-1], labels=b[:, :-1]).loss,
                    StepOptions(compile=options.compile), shape.accum_steps)
    # Llama's SwiGLU MLP has 3 matrices of width 8/3·d: the FLOPs of our 2 of width 4·d, up to rounding
    ours = build_model(cfg)
    timed.row.update(family="reference",
                     train_flops_per_byte=TRAIN_MULTIPLIER * forward_flops_per_byte(ours, windows[0]))
    return timed


def sample_windows(corpus: Path, shape: Shape) -> list[list[bytes]]:
    """The micro-batches of windows every model is timed on (at least 4, so that steps rotate among them)."""
    sampler = WindowSampler(pd.read_parquet(corpus)["text"].tolist(), shape.context_bytes, seed=0)
    return [[w.data for w in sampler.sample(shape.batch_size)] for _ in range(max(4, shape.accum_steps))]


def breakdown_table(corpus: Path, shape: Shape, models: dict[str, ModelConfig], families: list[str],
                    steps: int) -> pd.DataFrame:
    """``bench_breakdown.breakdown`` of each model (``families`` a subset of names, empty for all) on CPU."""
    windows = sample_windows(corpus, shape)
    tables = []
    for name, cfg in selected(models, families).items():
        timed = prepare_family(cfg, windows, shape, torch.device("cpu"))
        tables.append(bench_breakdown.breakdown(name, timed.model, timed.step, steps))
        print(tables[-1].drop(columns=["model"]).round(2).to_string(index=False), flush=True)
    return pd.concat(tables, ignore_index=True)


def run(corpus: Path, device: torch.device, shape: Shape, models: dict[str, ModelConfig], blocks: int,
        steps_per_block: int, families: list[str], generate_bytes: int = 64,
        options: StepOptions = StepOptions(), reference: str = "bytes", matmul_time: bool = False) -> pd.DataFrame:
    """Time ``models`` (name -> typed config; ``families`` a subset of names, "llama" for the reference,
    empty for all) at ``shape`` on windows of ``corpus``; Llama takes the shape of model ``reference``;
    ``matmul_time`` adds ``matmul_columns`` (CPU only)."""
    windows = sample_windows(corpus, shape)
    peak = next((v for k, v in PEAK_BF16.items() if k in torch.cuda.get_device_name()), None) \
        if device.type == "cuda" else None
    timed, failed = {}, []

    def attempt(name: str, family: str, make) -> None:
        try:  # one model failing (e.g. out of memory) still leaves the others measured
            timed[name] = make()
        except Exception as e:  # noqa: BLE001 - reported in the table, not hidden
            failed.append({"model": name, "family": family, "error": f"{type(e).__name__}: {e}"})
            if device.type == "cuda":
                torch.cuda.empty_cache()
            print(failed[-1], flush=True)

    for name, cfg in selected(models, families).items():
        attempt(name, cfg.family, lambda: prepare_family(cfg, windows, shape, device, options))
    if (not families or "llama" in families) and reference in models:
        attempt("llama_reference", "reference", lambda: prepare_llama(models[reference], windows, shape, device, options))
    time_interleaved(timed, blocks, steps_per_block, device)
    rate_columns(timed, reference)
    if matmul_time:
        matmul_columns(timed, reference)
    # a prompt of half a window of whole words, then as many new bytes as fit in the other half
    context = max(len(w) for w in windows[0])
    prompt = windows[0][0][: context // 2].decode("utf-8", errors="ignore")
    for t in timed.values():
        if t.row["family"] != "reference":  # the reference is not a byteword model
            t.row["generate_bytes_per_second"] = generation_rate(t.model, prompt, min(context // 2, generate_bytes),
                                                                 context, device)
    for t in timed.values():
        print(t.row, flush=True)
    table = pd.DataFrame([t.row for t in timed.values()] + failed)
    threads = torch.get_num_threads()
    cpu = f"cpu ({threads} thread{'s' * (threads != 1)})"
    table["device"] = torch.cuda.get_device_name() if device.type == "cuda" else cpu
    table["step"] = options.label
    table["shape"] = str(dataclasses.asdict(shape))
    table["options"] = str(dataclasses.asdict(options))
    table["achieved_tflops"] = table["train_flops_per_byte"] * table["bytes_per_second"] / 1e12
    if peak:
        table["mfu"] = table["achieved_tflops"] * 1e12 / peak
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="byteword.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("results/corpus/enwiki/train.parquet"))
    parser.add_argument("--gpu", action="store_true", help="run on CUDA in bf16")
    parser.add_argument("--config", type=Path, default=None,
                        help="config whose models and shape are timed (default config.yaml, configs/full.yaml with --gpu)")
    parser.add_argument("--context-bytes", type=int, default=None, help="window length (default: the config's)")
    parser.add_argument("--batch-size", type=int, default=None, help="windows per micro-batch (default: the config's)")
    parser.add_argument("--accum-steps", type=int, default=None,
                        help="micro-batches per optimizer step (default: the config's grad_accum_steps)")
    parser.add_argument("--blocks", type=int, default=None,
                        help="interleaved timing blocks (default 5 on CPU, 3 on GPU)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model and block (default 4)")
    parser.add_argument("--families", nargs="*", default=[], help="subset of models (default: all + llama)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compile", action="store_true", help="torch.compile the timed step (as training.compile)")
    parser.add_argument("--activation-checkpointing", action="store_true",
                        help="recompute backbone blocks in backward (as training.activation_checkpointing)")
    parser.add_argument("--generate-bytes", type=int, default=None, help="bytes generated per model "
                        "(default 64 on GPU, 8 on CPU, where each byte costs a forward pass over 256 candidates)")
    parser.add_argument("--collation-only", action="store_true",
                        help="time only the collation of every model at the shape (one CPU thread, no training)")
    parser.add_argument("--matmul-time", action="store_true",
                        help="CPU: also profile each model's time in matrix products and the FLOP-rate ratio over it")
    parser.add_argument("--breakdown", action="store_true",
                        help="CPU, eager: only time each model's levels (attention, the rest of their blocks) and "
                             "the rest of its step, with module hooks, over --steps steps (default 5)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/measurements"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.gpu:
        if not torch.cuda.is_available():
            raise SystemExit("--gpu given but torch sees no CUDA device")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    device = torch.device("cuda" if args.gpu else "cpu")
    shape, entries = config_models(args.config or Path("configs/full.yaml" if args.gpu else "config.yaml"))
    shape = Shape(args.context_bytes or shape.context_bytes, args.batch_size or shape.batch_size,
                  args.accum_steps or shape.accum_steps)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.collation_only:
        table = collation_rates(args.corpus, shape, entries, args.families)
        stem = f"collation_{shape.context_bytes}"
        table.to_parquet(args.out / f"{stem}.parquet", index=False)
        print(table.drop(columns=["shape"]).to_string())
        return 0
    if args.breakdown:
        if args.gpu or args.compile or args.activation_checkpointing:
            raise SystemExit("--breakdown times eager CPU steps: leave out --gpu, --compile and "
                             "--activation-checkpointing")
        table = breakdown_table(args.corpus, shape, entries, args.families, args.steps or 5)
        table.to_parquet(args.out / "breakdown_cpu.parquet", index=False)
        bench_breakdown.plot(table, args.out / "breakdown_cpu.png")
        return 0
    if args.matmul_time and args.gpu:
        raise SystemExit("--matmul-time profiles CPU kernels: leave out --gpu")
    options = StepOptions(compile=args.compile, activation_checkpointing=args.activation_checkpointing)
    table = run(args.corpus, device, shape, entries, args.blocks or (3 if args.gpu else 5), args.steps or 4,
                args.families, args.generate_bytes or (64 if args.gpu else 8), options,
                matmul_time=args.matmul_time)
    stem = ("throughput_gpu" if args.gpu else "throughput_cpu") + options.suffix
    table.to_parquet(args.out / f"{stem}.parquet", index=False)
    plot(table, args.out / f"{stem}.png")
    print(table.drop(columns=["shape", "options"]).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
