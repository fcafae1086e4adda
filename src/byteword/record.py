"""Typed records of a run: the training config, and what a trained model's ``model.json`` holds.

``RunRecord`` is what ``byteword.load`` returns beside the model: the experiment, corpus, typed model
and training configs, seed and tokenizer that identify the run, and what training measured (FLOPs,
bytes seen, parameter counts). Adapters read it rather than the JSON. A ``model.json`` whose model is
in the flat form of earlier versions (every family's keys side by side) is refused: retrain it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from byteword.flops import TRAIN_MULTIPLIER
from byteword.models import ConfigError, ModelConfig, model_config_from_dict

PRECISIONS = ("fp32", "bf16")
# keys of the config's training section that schedule jobs rather than shape training (not hashed)
SCHEDULING_KEYS = ("gpus_per_job", "runtime_minutes", "mem_mb")
MATCHING_KEYS = ("flops_per_byte", "train_flops")  # the keys of compute matching (a model trained apart drops them)
NESTED = ("model", "training", "params")  # RunRecord's fields that model.json holds in their own form


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
    eval_bytes: int = 32_768  # validation bytes scored at each evaluation: whole documents, the first always
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
class RunRecord:
    experiment: str
    corpus: str
    model: ModelConfig  # as trained: under compute matching, with the backbone width sizing chose
    training: TrainConfig  # as trained: with the model's own learning rate and the derived byte budget
    seed: int
    config_hash: str  # of the config as the job was given it (before sizing): what resume checks
    flops_per_byte: float  # forward FLOPs per byte at the end of training
    train_flops: float
    steps: int
    bytes_seen: int
    world_size: int
    params: dict[str, int]  # params_total, params_<part>, params_non_embedding
    code_version: str = ""
    packages: dict[str, str] = field(default_factory=dict)

    @property
    def tokenizer(self) -> str:
        """The BPE tokenizer's name, "bytes", or "own" for a pretrained model's own tokenizer."""
        return self.model.reads

    @property
    def flops_per_byte_target(self) -> float | None:
        return self.training.flops_per_byte

    def identity(self) -> dict:
        """The identifying columns of this run's results (``provenance.with_provenance``'s keywords)."""
        return dict(experiment=self.experiment, corpus=self.corpus, tokenizer=self.tokenizer, model=self.model.name,
                    seed=self.seed, cfg_hash=self.config_hash)

    def to_json(self) -> dict:
        """The ``model.json`` form: the typed configs as dicts, every other field, the two derived ones
        (tokenizer, flops_per_byte_target) for readers of the file, and the parameter counts at top level."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in NESTED}
        return {"model": self.model.to_dict(), "training": asdict(self.training), **d, "tokenizer": self.tokenizer,
                "flops_per_byte_target": self.flops_per_byte_target, **self.params}

    @classmethod
    def from_json(cls, d: dict, source: str = "model.json") -> "RunRecord":
        model = d["model"]
        if "n_layers" in model:  # sizes at top level: the flat config of earlier versions
            raise ConfigError(f"{source} holds model '{model.get('name')}' in the flat config form of an earlier "
                              "byteword version, which this version does not read; retrain the model")
        params = {k: v for k, v in d.items() if k.startswith("params_")}
        rest = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k not in NESTED}
        return cls(model=model_config_from_dict(model["name"], model), training=TrainConfig(**d["training"]),
                   params=params, **rest)


def read_record(path) -> RunRecord:
    """The record in ``path`` (a ``model.json``)."""
    path = Path(path)
    return RunRecord.from_json(json.loads(path.read_text()), str(path))
