"""Learning-rate sweep without Snakemake: train the demo's models (config.yaml) and their variants
in configs/lr_sweep.yaml with byteword's training loop, ``--jobs`` runs at a time, and append each
run's final validation BPB to a CSV table.

    PYTHONPATH=src python3 benchmarks/lr_sweep.py --device cuda --jobs 9

It reads an already prepared corpus (results/corpus/<corpus>/) and BPE tokenizer
(results/tokenizer/<corpus>/<name>/tokenizer.json), as the workflow writes them. The workflow run
(snakemake --configfile configs/lr_sweep.yaml) is the reference; this script exists so the same
sweep runs on a machine without Snakemake, e.g. a lent GPU."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def run_one(name: str, entry: dict, training: dict, corpus: str, device: str, out: Path) -> dict:
    from byteword.models import model_config_from_dict
    from byteword.record import train_config_from_dict
    from byteword.train import TrainJob, log_metric, train

    model = model_config_from_dict(name, entry)
    tokenizer = (ROOT / f"results/tokenizer/{corpus}/{model.tokenizer_name}/tokenizer.json"
                 if model.tokenizer_name else None)
    job = TrainJob(experiment="lr_sweep", corpus=corpus, model=model, training=train_config_from_dict(training),
                   seed=0, corpus_dir=ROOT / f"results/corpus/{corpus}", out_dir=out / "runs" / name,
                   checkpoint_dir=out / "checkpoints" / name, tokenizer_path=tokenizer, device=device)
    metrics = train(job)
    valid, train_loss = log_metric(metrics, "valid_bpb").iloc[-1], log_metric(metrics, "train_bpb").iloc[-1]
    return {"model": name, "family": model.family, "lr": entry.get("lr", training["lr"]),
            "valid_bpb": float(valid["value"]), "train_bpb": float(train_loss["value"]),
            "wall_seconds": float(valid["wall_seconds"]), "train_bytes": training["train_bytes"], "device": device}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--jobs", type=int, default=1, help="training processes at once")
    parser.add_argument("--models", nargs="*", default=[], help="base model names to sweep (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/measurements", help="where the table goes")
    parser.add_argument("--work", type=Path, default=ROOT / "runs/lr_sweep", help="trained models and checkpoints")
    parser.add_argument("--train-bytes", type=int, default=None, help="override the budget (smoke tests)")
    args = parser.parse_args(argv)
    base = yaml.safe_load((ROOT / "config.yaml").read_text())
    sweep = yaml.safe_load((ROOT / "configs/lr_sweep.yaml").read_text())["models"]
    models = {**base["models"], **sweep}
    if args.models:
        models = {k: v for k, v in models.items() if k.rsplit("_lr", 1)[0] in args.models}
    corpus = next(iter(base["corpora"]))
    training = {**base["training"], **({"train_bytes": args.train_bytes} if args.train_bytes else {})}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"lr_sweep_{args.device}.csv"  # one row appended per finished run, so a cut-off sweep keeps them
    rows = []
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_one, name, entry, training, corpus, args.device, args.work)
                   for name, entry in models.items()]
        for f in as_completed(futures):
            rows.append(f.result())
            pd.DataFrame(rows).to_csv(path, index=False)
            print(rows[-1], flush=True)
    print(pd.DataFrame(rows).sort_values(["family", "model", "lr"]).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
