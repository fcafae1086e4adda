"""The typed config every family's own config extends: frozen, holding only the keys that family reads,
written to ``model.json`` by ``to_dict`` and read back to an equal object by ``byteword.models.model_config_from_dict``.

Every family has a ``backbone`` (the whole stack of a flat model; the word, patch or chunk model of the
others), which compute matching sizes, and may have an ``encoder`` and a ``decoder``. A family's file
subclasses ``ModelConfig`` with its own fields and ``describe``, and checks what the schema cannot in
``check``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

LEVELS = ("encoder", "backbone", "decoder")


@dataclass(frozen=True)
class LevelConfig:
    d_model: int
    n_layers: int
    n_heads: int


class ConfigError(ValueError):
    """A model entry (in a config or a ``model.json``) that no family config can be built from."""


@dataclass(frozen=True)
class Upstream:
    """A smaller model that a model reads (BLT's entropy model, which draws its patches): the workflow trains
    it first, by its own rule, on the training split, on ``train_bytes`` bytes and under the experiment's
    training settings otherwise (never compute-matched), and hands it to ``build``."""
    model: "ModelConfig"
    train_bytes: int


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    name: str
    backbone: LevelConfig
    lr: float | None = None  # overrides training.lr for this model (learning-rate sweeps)

    family: ClassVar[str] = ""  # the registry's key, set by each family's config class
    # True for a model byteword does not train (an outside pretrained model): the workflow imports it instead of
    # pretraining it, and scores it on one seed, since scoring it again would give the same numbers
    imported: ClassVar[bool] = False

    def check(self) -> None:
        """Raise ``ConfigError`` naming the model where fields disagree (overridden per family)."""

    def describe(self) -> str:
        """A short label of what distinguishes this model inside its family, for tables and figures."""
        return self.family

    @property
    def tokenizer_name(self) -> str | None:
        """The BPE tokenizer the model reads (such as "bpe1024"), None for a model of raw bytes."""
        return None

    @property
    def reads(self) -> str:
        """What the model reads, for the tokenizer column of results: its BPE tokenizer's name, or "bytes"."""
        return self.tokenizer_name or "bytes"

    @property
    def stated_train_flops(self) -> float | None:
        """The training FLOPs an imported model's entry states it was trained with elsewhere; None for the rest
        (byteword counts the FLOPs of what it trains)."""
        return None

    @property
    def target_bytes_per_chunk(self) -> float:
        """The mean chunk length a model that learns its boundaries is steered toward; NaN for the rest."""
        return math.nan

    @property
    def upstream(self) -> Upstream | None:
        """The smaller model this one reads, trained before it (None for most families). Its config is one
        of this config's fields, so the config hash covers it."""
        return None

    def with_backbone_width(self, d_model: int) -> "ModelConfig":
        return dataclasses.replace(self, backbone=dataclasses.replace(self.backbone, d_model=d_model))

    def to_dict(self) -> dict:
        """{"name", "family", and every field} with levels (and other nested settings) as dicts: the form
        ``model.json`` holds."""
        d = {"name": self.name, "family": self.family}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            d[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        return d

    @classmethod
    def from_entry(cls, name: str, entry: dict) -> "ModelConfig":
        """This family's config from one ``models:`` entry (without ``family``), its unknown keys named."""
        fields = {f.name for f in dataclasses.fields(cls)} - {"name"}
        unknown = sorted(set(entry) - fields)
        if unknown:
            raise ConfigError(f"model '{name}': the {cls.family} family has no key(s) {', '.join(unknown)} "
                              f"(it reads {', '.join(sorted(fields))})")
        kwargs = {k: LevelConfig(**v) if k in LEVELS and isinstance(v, dict) else v for k, v in entry.items()}
        missing = sorted(f.name for f in dataclasses.fields(cls) if f.name != "name" and f.name not in kwargs
                         and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        if missing:
            raise ConfigError(f"model '{name}': the {cls.family} family needs {', '.join(missing)}")
        cfg = cls(name=name, **kwargs)
        cfg.check()
        return cfg
