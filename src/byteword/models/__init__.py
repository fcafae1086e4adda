"""Model configs and ``build_model``: one entry point for every family, one output type."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

FAMILIES = ("transformer", "hierarchical")


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
    attention_window: int | None = None
    pooling: str = "word_token"  # hierarchical
    max_word_bytes: int = 16  # hierarchical: longer words are chopped
    encoder: LevelConfig | None = None
    backbone: LevelConfig | None = None
    decoder: LevelConfig | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        for level in ("encoder", "backbone", "decoder"):
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
    for level in ("encoder", "backbone", "decoder"):
        if level in kwargs:
            kwargs[level] = LevelConfig(**kwargs[level])
    cfg = ModelConfig(name=name, **kwargs)
    if family == "transformer" and cfg.input == "bpe" and not cfg.tokenizer:
        raise ValueError(f"model '{name}': a transformer with input 'bpe' needs a 'tokenizer' such as bpe1024")
    if family == "hierarchical" and None in (cfg.encoder, cfg.backbone, cfg.decoder):
        raise ValueError(f"model '{name}': the hierarchical family needs encoder, backbone and decoder sizes")
    return cfg


def build_model(cfg: ModelConfig, tokenizer=None) -> nn.Module:
    """Instantiate the family named in ``cfg``; BPE transformers take their vocabulary from ``tokenizer``."""
    if cfg.family == "transformer":
        from byteword.models.transformer import Transformer

        if cfg.input == "bpe":
            if tokenizer is None:
                raise ValueError(f"model '{cfg.name}' reads BPE ids and needs its tokenizer")
            from byteword.tokenization import bos_id

            return Transformer(cfg, vocab_size=tokenizer.get_vocab_size(), bos_id=bos_id(tokenizer))
        return Transformer(cfg)
    if cfg.family == "hierarchical":
        from byteword.models.hierarchical import Hierarchical

        return Hierarchical(cfg)
    raise ValueError(f"unknown model family {cfg.family!r}")


def param_counts(model: nn.Module) -> dict[str, int]:
    """Parameters split into embedding (input embeddings and output heads) and the rest."""
    total = sum(p.numel() for p in model.parameters())
    embedding = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Embedding))
    embedding += sum(p.numel() for n, p in model.named_parameters() if n.startswith("head."))
    return {"params_total": total, "params_embedding": embedding, "params_non_embedding": total - embedding}
