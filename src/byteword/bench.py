"""Training throughput of every family at matched shapes, beside Hugging Face ``LlamaForCausalLM``
(the reference token-level transformer) at the same shape.

    PYTHONPATH=src python3 -m byteword.bench --corpus results/corpus/enwiki/train.parquet [--gpu]

Every family gets the same backbone (d_model × n_layers) and the same byte windows; byte-level
levels are half as wide. Batches are collated before the clock starts, so the numbers are model
throughput; the collation rate (bytes/s on one CPU core) is measured separately and shows whether a
single-process data loader would keep up. On a GPU the step runs under bf16 autocast with TF32
matmuls and fused AdamW; model FLOPs utilisation = 3 · analytic forward FLOPs per byte · bytes/s
divided by the card's dense bf16 peak. Generation speed (greedy bytes/s through ``byteword.load``'s
``generate``, in float32) is measured per family too. ``--compile`` and ``--activation-checkpointing``
apply those training options to the timed step. One row per model to Parquet, one figure."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time
from pathlib import Path

import pandas as pd
import torch

from byteword.data import WindowSampler, collate
from byteword.flops import TRAIN_MULTIPLIER, forward_flops_per_byte
from byteword.models import build_model, model_config_from_dict

# dense bf16 peaks from NVIDIA's data sheets; the first name found in the device name wins
PEAK_BF16 = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "A100": 312e12}


@dataclasses.dataclass(frozen=True)
class Shape:
    context_bytes: int
    batch_size: int
    d_model: int
    n_layers: int
    n_heads: int


CPU_SHAPE = Shape(context_bytes=128, batch_size=8, d_model=128, n_layers=4, n_heads=4)  # the demo's
GPU_SHAPE = Shape(context_bytes=2048, batch_size=16, d_model=768, n_layers=12, n_heads=12)


def family_entries(s: Shape) -> dict[str, dict]:
    """Config entries of every family with the backbone ``s`` and byte levels half as wide."""
    backbone = {"d_model": s.d_model, "n_layers": s.n_layers, "n_heads": s.n_heads}
    local = {"d_model": s.d_model // 2, "n_layers": 2, "n_heads": max(s.n_heads // 2, 1)}
    return {
        "bytes": {"family": "transformer", "input": "bytes", **backbone},
        "bytes_window": {"family": "transformer", "input": "bytes", "attention_window": 512, **backbone},
        "hat": {"family": "hierarchical", "encoder": local, "backbone": backbone, "decoder": local},
        "spacebyte": {"family": "spacebyte", "attention_window": 256, "encoder": local, "backbone": backbone,
                      "decoder": local},
        "megabyte": {"family": "megabyte", "patch_size": 8, "backbone": backbone, "decoder": local},
        "hnet": {"family": "hnet", "encoder": local, "backbone": backbone, "decoder": local},
    }


def llama_reference(s: Shape, vocab_size: int = 257):
    """LlamaForCausalLM at the byte transformer's shape (SwiGLU width 8/3·d keeps the MLP's parameters)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    swiglu_width = (8 * s.d_model // 3 + 63) // 64 * 64
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=s.d_model, intermediate_size=swiglu_width,
                      num_hidden_layers=s.n_layers, num_attention_heads=s.n_heads, num_key_value_heads=s.n_heads,
                      max_position_embeddings=s.context_bytes + 1, tie_word_embeddings=False,
                      attn_implementation="sdpa")
    return LlamaForCausalLM(cfg)


def time_steps(step, n_steps: int, device: torch.device) -> float:
    """Seconds per call of ``step`` after two warm-up calls."""
    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n_steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / n_steps


@dataclasses.dataclass(frozen=True)
class StepOptions:
    """Training options of byteword.train applied to the timed step (both off: the plain eager step)."""
    compile: bool = False
    activation_checkpointing: bool = False

    @property
    def suffix(self) -> str:
        return "".join(f"_{k}" for k, v in dataclasses.asdict(self).items() if v)


def bench_model(name, model, batches, n_bytes: int, device, n_steps: int, loss_fn,
                options: StepOptions = StepOptions()) -> dict:
    model.to(device).train()
    forward = torch.compile(model) if options.compile else model  # the first (warm-up) steps compile
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    rotation = itertools.cycle(batches)

    def step():
        batch = next(rotation)
        with autocast:
            loss = loss_fn(forward, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = time_steps(step, n_steps, device)
    row = {"model": name, "seconds_per_step": seconds, "bytes_per_second": n_bytes / seconds,
           "params": sum(p.numel() for p in model.parameters())}
    if device.type == "cuda":
        row["peak_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9
    model.cpu()
    return row


def generation_rate(model, prompt: str, n_bytes: int, context_bytes: int, device) -> float:
    """Greedy generation speed in bytes/s through ``LoadedModel.generate`` (each byte scores the prefix
    with all 256 candidate continuations, without a cache), after one warm-up byte."""
    from byteword.api import LoadedModel

    loaded = LoadedModel(model.to(device), None, {"training": {"context_bytes": context_bytes}})
    loaded.generate(prompt, n_bytes=1, temperature=0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    loaded.generate(prompt, n_bytes=n_bytes, temperature=0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    model.cpu().train()
    return n_bytes / (time.perf_counter() - start)


def bench_family(name: str, entry: dict, windows: list[list[bytes]], n_bytes: int, device, n_steps: int,
                 generate_bytes: int = 64, options: StepOptions = StepOptions()) -> dict:
    from byteword.train import set_activation_checkpointing

    torch.manual_seed(0)
    model = build_model(model_config_from_dict(name, entry))
    set_activation_checkpointing(model, options.activation_checkpointing)
    train_fpb = TRAIN_MULTIPLIER * forward_flops_per_byte(model, windows[0])
    start = time.perf_counter()
    batches = [collate(w, model.batch_kind, max_word_bytes=model.cfg.max_word_bytes) for w in windows]
    collate_rate = len(windows) * n_bytes / (time.perf_counter() - start)  # bytes/s on one CPU thread
    batches = [b.to(device) for b in batches]
    row = bench_model(name, model, batches, n_bytes, device, n_steps, lambda m, b: m(b).loss, options)
    row.update(family=entry["family"], train_flops_per_byte=train_fpb, collate_bytes_per_second=collate_rate)
    # a prompt of half a window of whole words, then as many new bytes as fit in the other half
    context = max(len(w) for w in windows[0])
    prompt = windows[0][0][: context // 2].decode("utf-8", errors="ignore")
    row["generate_bytes_per_second"] = generation_rate(model, prompt, min(context // 2, generate_bytes), context,
                                                       device)
    return row


def bench_llama(shape: Shape, windows: list[list[bytes]], n_bytes: int, device, n_steps: int,
                options: StepOptions = StepOptions()) -> dict:
    """The reference at the byte transformer's shape, on the same windows (BOS first, as ours reads them)."""
    ids = [torch.cat([torch.full((shape.batch_size, 1), 256), collate(w, "bytes").bytes], 1) for w in windows]
    row = bench_model("llama_reference", llama_reference(shape), [i.to(device) for i in ids], n_bytes, device,
                      n_steps, lambda m, b: m(input_ids=b[:, :-1], labels=b[:, :-1]).loss,
                      StepOptions(compile=options.compile))
    # Llama's SwiGLU MLP has 3 matrices of width 8/3·d: the FLOPs of our 2 of width 4·d, up to rounding
    ours = build_model(model_config_from_dict("bytes", family_entries(shape)["bytes"]))
    row.update(family="reference", train_flops_per_byte=TRAIN_MULTIPLIER * forward_flops_per_byte(ours, windows[0]))
    return row


def run(corpus: Path, device: torch.device, shape: Shape, n_steps: int, families: list[str],
        generate_bytes: int = 64, options: StepOptions = StepOptions()) -> pd.DataFrame:
    texts = pd.read_parquet(corpus)["text"].tolist()
    sampler = WindowSampler(texts, shape.context_bytes, seed=0)
    windows = [[w.data for w in sampler.sample(shape.batch_size)] for _ in range(4)]  # bytes: BPE is not benched
    n_bytes = sum(len(w) for w in windows[0])
    peak = next((v for k, v in PEAK_BF16.items() if k in torch.cuda.get_device_name()), None) \
        if device.type == "cuda" else None
    rows = []
    for name, entry in family_entries(shape).items():
        if families and name not in families:
            continue
        try:  # one family failing (e.g. out of memory) still leaves the others measured
            rows.append(bench_family(name, entry, windows, n_bytes, device, n_steps, generate_bytes, options))
        except Exception as e:  # noqa: BLE001 - reported in the table, not hidden
            rows.append({"model": name, "family": entry["family"], "error": f"{type(e).__name__}: {e}"})
            if device.type == "cuda":
                torch.cuda.empty_cache()
        print(rows[-1], flush=True)
    if not families or "llama" in families:
        try:
            rows.append(bench_llama(shape, windows, n_bytes, device, n_steps, options))
        except Exception as e:  # noqa: BLE001 - reported in the table, not hidden
            rows.append({"model": "llama_reference", "family": "reference", "error": f"{type(e).__name__}: {e}"})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    cpu = f"cpu ({torch.get_num_threads()} threads)"
    table["device"] = torch.cuda.get_device_name() if device.type == "cuda" else cpu
    table["shape"] = str(dataclasses.asdict(shape))
    table["options"] = str(dataclasses.asdict(options))
    table["achieved_tflops"] = table["train_flops_per_byte"] * table["bytes_per_second"] / 1e12
    if peak:
        table["mfu"] = table["achieved_tflops"] * 1e12 / peak
    return table


def plot(table: pd.DataFrame, path: Path) -> None:
    from byteword.plotting import plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].bar(table["model"], table["bytes_per_second"] / 1e3)
    axes[0].set(ylabel="training throughput (kB/s)", title=f"{table['device'].iloc[0]}")
    metric = "mfu" if "mfu" in table else "achieved_tflops"
    axes[1].bar(table["model"], table[metric])
    axes[1].set(ylabel="model FLOPs utilisation" if metric == "mfu" else "achieved TFLOP/s", title="compute use")
    for ax in axes:
        ax.tick_params(axis="x", rotation=30)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="byteword.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("results/corpus/enwiki/train.parquet"))
    parser.add_argument("--gpu", action="store_true", help="run on CUDA in bf16 at the GPU shape")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model")
    parser.add_argument("--families", nargs="*", default=[], help="subset of models (default: all + llama)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compile", action="store_true", help="torch.compile the timed step (as training.compile)")
    parser.add_argument("--activation-checkpointing", action="store_true",
                        help="recompute backbone blocks in backward (as training.activation_checkpointing)")
    parser.add_argument("--generate-bytes", type=int, default=None, help="bytes generated per model "
                        "(default 64 on GPU, 8 on CPU, where each byte costs a forward pass over 256 candidates)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/measurements"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.gpu:
        if not torch.cuda.is_available():
            raise SystemExit("--gpu given but torch sees no CUDA device")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    device = torch.device("cuda" if args.gpu else "cpu")
    shape = GPU_SHAPE if args.gpu else CPU_SHAPE
    options = StepOptions(compile=args.compile, activation_checkpointing=args.activation_checkpointing)
    table = run(args.corpus, device, shape, args.steps or (20 if args.gpu else 10), args.families,
                args.generate_bytes or (64 if args.gpu else 8), options)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = ("throughput_gpu" if args.gpu else "throughput_cpu") + options.suffix
    table.to_parquet(args.out / f"{stem}.parquet", index=False)
    plot(table, args.out / f"{stem}.png")
    print(table.drop(columns=["shape", "options"]).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
