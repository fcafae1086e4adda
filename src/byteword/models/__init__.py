"""Model configs and ``build_model``: one entry point for every family, one output type.

Every family also reads a word two ways, ``model.word_readings(batch) -> {"input": (B, d_in), "output":
(B, d_out)}`` for a batch of one-word windows " word" (each family's file says where): ``input`` is what
its upper level (or, for a flat model, its stack) receives for the word, ``output`` the state of its top
level once it has read the whole word."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from torch import nn

# family -> "module:class"; each family lives in its own file
FAMILIES = {
    "transformer": "byteword.models.transformer:Transformer",
    "hierarchical": "byteword.models.hierarchical:Hierarchical",
    "spacebyte": "byteword.models.spacebyte:SpaceByte",
    "megabyte": "byteword.models.megabyte:Megabyte",
    "hnet": "byteword.models.hnet:HNet",
}
LEVELS = ("encoder", "backbone", "decoder")
# the levels each family with levels needs
FAMILY_LEVELS = {"hierarchical": LEVELS, "spacebyte": LEVELS, "hnet": LEVELS, "megabyte": ("backbone", "decoder")}
POOLINGS = ("word_token", "mean", "cross_attention", "multi")
PARTS = ("embedding", "encoder", "backbone", "decoder")
READINGS = ("input", "output")  # the keys of every family's word_readings


@dataclass(frozen=True)
class LevelConfig:
    d_model: int
    n_layers: int
    n_heads: int


@dataclass(frozen=True)
class ModelConfig:
    name: str
    family: str
    input: str = "bytes"  # transformer: "bpe" or "bytes"
    tokenizer: str | None = None  # transformer on BPE: tokenizer name such as "bpe1024"
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    attention_window: int | None = None  # transformer; byte-level (local) layers of spacebyte and hnet
    pooling: str = "word_token"  # hierarchical: how a word's bytes become backbone input
    vectors_per_word: int = 1  # hierarchical with pooling "multi": word tokens per word (Learn Your Tokens)
    max_word_bytes: int = 16  # hierarchical: longer words are chopped
    patch_size: int = 8  # megabyte: bytes per patch
    global_input: bool = True  # megabyte: false = ablation, the local model reads no global slice
    target_chunk_bytes: float = 4.0  # hnet: the mean chunk length the ratio loss steers toward
    ratio_loss_weight: float = 0.03  # hnet: weight of the ratio loss
    lr: float | None = None  # overrides training.lr for this model (learning-rate sweeps)
    encoder: LevelConfig | None = None
    backbone: LevelConfig | None = None
    decoder: LevelConfig | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        for level in LEVELS:
            if d[level] is not None:
                d[level] = dict(d[level].__dict__)
        return d


def model_config_from_dict(name: str, d: dict) -> ModelConfig:
    """Build a typed config from one ``models:`` entry; unknown families or keys are named in the error."""
    family = d.get("family")
    if family not in FAMILIES:
        raise ValueError(f"model '{name}': unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    known = set(ModelConfig.__dataclass_fields__) - {"name", "extra"}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"model '{name}': unknown key(s) {', '.join(unknown)}")
    kwargs = dict(d)
    for level in LEVELS:
        if level in kwargs:
            kwargs[level] = LevelConfig(**kwargs[level])
    cfg = ModelConfig(name=name, **kwargs)
    if family == "transformer" and cfg.input == "bpe" and not cfg.tokenizer:
        raise ValueError(f"model '{name}': a transformer with input 'bpe' needs a 'tokenizer' such as bpe1024")
    missing = [level for level in FAMILY_LEVELS.get(family, ()) if getattr(cfg, level) is None]
    if missing:
        raise ValueError(f"model '{name}': the {family} family needs {', '.join(missing)} sizes")
    if cfg.pooling not in POOLINGS:
        raise ValueError(f"model '{name}': unknown pooling {cfg.pooling!r}; choose one of {', '.join(POOLINGS)}")
    if (cfg.pooling == "multi") != (cfg.vectors_per_word > 1):
        raise ValueError(f"model '{name}': pooling 'multi' needs vectors_per_word > 1, and only it takes one")
    if family == "spacebyte" and cfg.encoder.d_model != cfg.decoder.d_model:
        raise ValueError(f"model '{name}': spacebyte's encoder and decoder share one byte stream, so their "
                         f"d_model must be equal ({cfg.encoder.d_model} != {cfg.decoder.d_model})")
    return cfg


def build_model(cfg: ModelConfig, tokenizer=None) -> nn.Module:
    """Instantiate the family named in ``cfg``; BPE transformers take their vocabulary from ``tokenizer``."""
    if cfg.family not in FAMILIES:
        raise ValueError(f"unknown model family {cfg.family!r}")
    module, cls = FAMILIES[cfg.family].split(":")
    model_cls = getattr(importlib.import_module(module), cls)
    if cfg.family == "transformer" and cfg.input == "bpe":
        if tokenizer is None:
            raise ValueError(f"model '{cfg.name}' reads BPE ids and needs its tokenizer")
        from byteword.tokenization import bos_id, special_ids, token_bytes

        specials = special_ids(tokenizer)
        first_bytes = [-1 if i in specials else token_bytes(tokenizer, i)[0] for i in range(tokenizer.get_vocab_size())]
        return model_cls(cfg, vocab_size=tokenizer.get_vocab_size(), bos_id=bos_id(tokenizer), first_bytes=first_bytes)
    return model_cls(cfg)


def param_counts(model: nn.Module) -> dict[str, int]:
    """Parameters by part (embedding = input embeddings and output heads; encoder, backbone, decoder as
    each family's ``PARTS`` names them by parameter-name prefix), plus the total and the non-embedding rest."""
    counts = dict.fromkeys(PARTS, 0)
    for name, p in model.named_parameters():
        part = next((part for part, prefixes in model.PARTS.items() if name.startswith(prefixes)), None)
        if part is None:
            raise ValueError(f"{type(model).__name__}.PARTS assigns parameter {name!r} to no part")
        counts[part] += p.numel()
    total = sum(counts.values())
    return {"params_total": total, **{f"params_{k}": v for k, v in counts.items()},
            "params_non_embedding": total - counts["embedding"]}


def describe_variant(cfg: dict) -> str:
    """A short label of what distinguishes a model inside its family, for tables and figures."""
    family = cfg["family"]
    if family == "transformer":
        label = cfg["tokenizer"] if cfg["input"] == "bpe" else "bytes"
        return label + (f", window {cfg['attention_window']}" if cfg.get("attention_window") else "")
    if family == "hierarchical":
        k = cfg.get("vectors_per_word", 1)
        return f"pooling {cfg.get('pooling', 'word_token')}" + (f" (k={k})" if k > 1 else "")
    if family == "megabyte":
        return f"patch {cfg['patch_size']}" + ("" if cfg.get("global_input", True) else ", no global input")
    if family == "hnet":
        return f"target {cfg['target_chunk_bytes']:g} bytes/chunk"
    if family == "spacebyte":
        return "spaces" + (f", window {cfg['attention_window']}" if cfg.get("attention_window") else "")
    raise ValueError(f"describe_variant does not know family {family!r}")
