"""The import job of a model that byteword does not train (a config whose ``imported`` is set: an outside
Hugging Face model): its pretrain folder, written on the submit host, where a hub download can reach the
network, so that every evaluation job reads a local copy."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from byteword.corpus import read_split
from byteword.data import eval_windows
from byteword.flops import forward_flops
from byteword.models import ConfigError, model_class, model_config_from_dict, param_counts
from byteword.provenance import code_version, config_hash, package_versions, write_json
from byteword.record import MATCHING_KEYS, RunRecord, train_config_from_dict


def import_run(spec: dict, seed: int, corpus_dir: Path, out_dir: Path) -> dict:
    """Write the pretrain folder of the imported model in ``spec`` (the training job's JSON, whose training
    section needs only ``context_bytes``, the windows it is scored in): the model's copy (``save_copy``) and a
    ``model.json`` whose record holds the training FLOPs its entry gives (NaN where it gives none), no training
    steps, and its analytic FLOPs per byte on the test split. Its tokenizer reads every test document first,
    so a tokenizer that cannot give the text back is refused here, before any evaluation (text that only the
    noise and language evaluations read is tried when they score it). Returns the record as written."""
    cfg = model_config_from_dict(spec["model_name"], spec["model"])
    if not cfg.imported:
        raise ConfigError(f"model '{cfg.name}' is trained by byteword (family {cfg.family}), not imported")
    model = model_class(cfg.family).build(cfg).eval()
    training = train_config_from_dict({k: v for k, v in spec["training"].items() if k not in MATCHING_KEYS})
    training = dataclasses.replace(training, train_bytes=0)  # trained elsewhere: byteword trains it on nothing
    tokenizer = model.window_tokenizer(None)
    texts = read_split(Path(corpus_dir) / "test.parquet")["text"].tolist()
    windows = eval_windows(texts, training.context_bytes, training.context_bytes, tokenizer=tokenizer)
    flops, n_bytes = forward_flops(model, windows, tokenizer)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_copy(out_dir)
    stated = cfg.stated_train_flops
    record = RunRecord(experiment=spec["experiment"], corpus=spec["corpus"], model=cfg, training=training, seed=seed,
                       config_hash=config_hash(spec), flops_per_byte=flops / max(n_bytes, 1),
                       train_flops=math.nan if stated is None else stated, steps=0, bytes_seen=0, world_size=1,
                       params=param_counts(model), code_version=code_version(), packages=package_versions())
    write_json(record.to_json(), out_dir / "model.json")
    return record.to_json()
