"""The family registry and ``build_model``: one entry point for every family, one output type.

Each family lives in its own file: a ``LanguageModel`` subclass (``byteword.models.protocol``) with its
typed config (``byteword.models.config``). Every family also reads a word two ways,
``model.word_readings(batch) -> {"input": (B, d_in), "output": (B, d_out)}`` for a batch of one-word
windows " word" (each family's file says where): ``input`` is what its upper level (or, for a flat
model, its stack) receives for the word, ``output`` the state of its top level once it has read the
whole word."""

from __future__ import annotations

import importlib

from byteword.models.config import LEVELS, ConfigError, LevelConfig, ModelConfig
from byteword.models.protocol import LanguageModel

# family -> "module:class"; each family lives in its own file
FAMILIES = {
    "transformer": "byteword.models.transformer:Transformer",
    "hierarchical": "byteword.models.hierarchical:Hierarchical",
    "spacebyte": "byteword.models.spacebyte:SpaceByte",
    "megabyte": "byteword.models.megabyte:Megabyte",
    "hnet": "byteword.models.hnet:HNet",
    "blt": "byteword.models.blt:BLT",
    "pretrained": "byteword.models.pretrained:Pretrained",
}
PARTS = ("embedding", "encoder", "backbone", "decoder")
READINGS = ("input", "output")  # the keys of every family's word_readings

__all__ = ["FAMILIES", "LEVELS", "PARTS", "READINGS", "ConfigError", "LanguageModel", "LevelConfig", "ModelConfig",
           "build_model", "model_class", "model_config_from_dict", "param_counts"]


def model_class(family: str) -> type[LanguageModel]:
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family {family!r}; choose one of {', '.join(FAMILIES)}")
    module, cls = FAMILIES[family].split(":")
    return getattr(importlib.import_module(module), cls)


def model_config_from_dict(name: str, d: dict) -> ModelConfig:
    """The typed config of one ``models:`` entry (or a ``model.json``'s ``model``, whose ``name`` is
    ignored), built by its family's config class; unknown families or keys are named in the error."""
    entry = {k: v for k, v in d.items() if k not in ("family", "name")}
    if d.get("family") not in FAMILIES:
        named = f"unknown model family {d['family']!r}" if "family" in d else "names no family"
        raise ConfigError(f"model '{name}': {named}; choose one of {', '.join(FAMILIES)}")
    return model_class(d["family"]).Config.from_entry(name, entry)


def build_model(cfg: ModelConfig, tokenizer=None, upstream: LanguageModel | None = None) -> LanguageModel:
    """Instantiate the family of ``cfg``; a model that reads BPE ids takes its vocabulary from ``tokenizer``, a
    model with an upstream model (``cfg.upstream``) takes the trained one as ``upstream``."""
    if cfg.tokenizer_name and tokenizer is None:
        raise ValueError(f"model '{cfg.name}' reads {cfg.tokenizer_name} ids and needs its tokenizer")
    if upstream is not None and (cfg.upstream is None or upstream.cfg.to_dict() != cfg.upstream.model.to_dict()):
        wanted = cfg.upstream.model.to_dict() if cfg.upstream else "none"
        raise ConfigError(f"model '{cfg.name}' was given an upstream model {upstream.cfg.to_dict()}; it reads {wanted}")
    return model_class(cfg.family).build(cfg, tokenizer, upstream)


def param_counts(model: LanguageModel) -> dict[str, int]:
    """Parameters by part (embedding = input embeddings and output heads; encoder, backbone, decoder as
    each family's ``PARTS`` names them by parameter-name prefix), plus the total and the non-embedding rest.
    Only the parameters the model trains: a frozen upstream model's are counted in its own record."""
    counts = dict.fromkeys(PARTS, 0)
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        part = next((part for part, prefixes in model.PARTS.items() if name.startswith(prefixes)), None)
        if part is None:
            raise ValueError(f"{type(model).__name__}.PARTS assigns parameter {name!r} to no part")
        counts[part] += p.numel()
    total = sum(counts.values())
    return {"params_total": total, **{f"params_{k}": v for k, v in counts.items()},
            "params_non_embedding": total - counts["embedding"]}
