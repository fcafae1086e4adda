"""Command line: ``python -m byteword train ...`` (the pretrain rule's shell command, torchrun-ready),
``python -m byteword import ...`` (an outside Hugging Face model into its pretrain folder),
``python -m byteword encode ...`` and ``python -m byteword gpu-hours --configfile ...`` (the cost of an
experiment before running it)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="byteword")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="pretrain one model on one corpus with one seed")
    t.add_argument("--spec", required=True, help="JSON: experiment, corpus, model_name, model (its typed config's to_dict), training")
    t.add_argument("--seed", type=int, required=True)
    t.add_argument("--corpus-dir", type=Path, required=True)
    t.add_argument("--tokenizer", type=Path, default=None, help="tokenizer.json for BPE models")
    t.add_argument("--upstream", type=Path, default=None,
                   help="folder of the trained upstream model the model reads (BLT's entropy model)")
    t.add_argument("--encoded-dir", type=Path, default=None, help="the training split encoded by `byteword encode`")
    t.add_argument("--out-dir", type=Path, required=True)
    t.add_argument("--checkpoint-dir", type=Path, required=True)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--device", default="cpu", help="torch device to train on, e.g. cuda")
    g = sub.add_parser("gpu-hours", help="estimated GPU-hours per training job of an experiment config")
    g.add_argument("--configfile", type=Path, required=True)
    g.add_argument("--mfu", type=float, default=0.3, help="assumed model FLOPs utilisation (0-1]")
    g.add_argument("--gpu-tflops", type=float, default=989.0, help="peak dense bf16 TFLOP/s of one GPU (H100 SXM)")
    g.add_argument("--mfu-from", type=Path, default=None,
                   help="a benchmark table (python -m byteword.bench --gpu) giving each model its measured MFU")
    e = sub.add_parser("encode", help="encode a corpus split once into memory-mapped arrays (bytes, BPE ids)")
    e.add_argument("--corpus-dir", type=Path, required=True, help="folder of a prepared corpus (<split>.parquet)")
    e.add_argument("--split", default="train", choices=["train", "valid", "test"])
    e.add_argument("--out-dir", type=Path, required=True)
    e.add_argument("--tokenizer", type=Path, default=None, help="tokenizer.json whose BPE ids to store too")
    m = sub.add_parser("import", help="save an outside Hugging Face model (an entry byteword does not train) into "
                       "its pretrain folder and write its model.json")
    m.add_argument("--spec", required=True, help="JSON as for train, its model an outside model's entry")
    m.add_argument("--seed", type=int, required=True)
    m.add_argument("--corpus-dir", type=Path, required=True, help="the prepared corpus its tokenizer is tried on")
    m.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "import":
        from byteword.importing import import_run

        print(json.dumps(import_run(json.loads(args.spec), args.seed, args.corpus_dir, args.out_dir), indent=2))
        return 0
    if args.command == "encode":
        from byteword.corpus import read_split
        from byteword.encode import encode_split
        from byteword.tokenization import load_tokenizer

        texts = read_split(args.corpus_dir / f"{args.split}.parquet")["text"].tolist()
        tokenizer = load_tokenizer(args.tokenizer) if args.tokenizer else None
        print(encode_split(texts, args.out_dir, tokenizer))
        return 0
    if args.command == "gpu-hours":
        from byteword.budget import report

        print(report(args.configfile, args.mfu, args.gpu_tflops, args.mfu_from))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from byteword.models import model_config_from_dict
    from byteword.record import train_config_from_dict
    from byteword.train import TrainJob, train

    spec = json.loads(args.spec)
    model = model_config_from_dict(spec["model_name"], spec["model"])
    job = TrainJob(experiment=spec["experiment"], corpus=spec["corpus"], model=model,
                   training=train_config_from_dict(spec["training"]), seed=args.seed, corpus_dir=args.corpus_dir,
                   out_dir=args.out_dir, checkpoint_dir=args.checkpoint_dir,
                   tokenizer_path=args.tokenizer if model.tokenizer_name else None, upstream_dir=args.upstream,
                   encoded_dir=args.encoded_dir, threads=args.threads, device=args.device)
    train(job)
    return 0


if __name__ == "__main__":
    sys.exit(main())
