"""The model protocol: everything the rest of byteword knows about a family, in one base class.

Training, evaluation, embeddings, sizing, the benchmark and the workflow read a model only through
these attributes and methods, so they never branch on a family; a family's file subclasses
``LanguageModel``, overrides what differs from the defaults, and is listed in
``byteword.models.FAMILIES``.

- ``Config``: its typed config class (a ``byteword.models.config.ModelConfig``);
- ``PARTS``: parameter-name prefixes per part (embedding, encoder, backbone, decoder) for counts;
- ``build(cfg, tokenizer, upstream)``: the model, given the tokenizer when ``cfg.tokenizer_name`` names one
  and the trained upstream model when ``cfg.upstream`` names one (``byteword.models.config.Upstream``);
- ``from_run(cfg, run_dir, tokenizer)``: the model a pretrain folder holds (by default: built, then its
  ``model.safetensors`` loaded);
- ``save_copy(run_dir)``: an imported model's copy in its pretrain folder (``byteword.importing``);
- ``window_tokenizer(tokenizer)``: the tokenizer whose tokens its evaluation windows carry (the BPE tokenizer
  it reads, None for bytes; a pretrained model's own);
- ``fit_to_training_split(windows)``: whatever the family fixes from training windows before its first step
  (BLT's entropy threshold), kept in its state dict;
- ``collate(windows, tokenizer)``: the batch it reads from evaluation or training windows;
- ``static_shapes`` and ``pad_to_capacity(batch)``: for a compiled training step, whether padding a batch
  to a few capacities (``byteword.data.capacity``) leaves its forward no size drawn from the data, so
  that each capacity compiles to one graph of fixed shapes;
- ``forward(batch) -> ModelOutput``: log-likelihood credited to every byte (``byteword.models.output``);
- ``analytic_flops(batch)``: forward FLOPs of a one-window batch (``byteword.flops``' convention);
- ``word_readings(batch)``: the two readings of one-word windows for the embedding suite;
- ``text_states(out)`` and ``read_positions(batch, row, a, b)``: the states that stand for a text in
  contextual and sentence vectors, and which of them have just read a span of bytes;
- ``token_embeddings()``: the input and output embedding matrices of a model that reads tokens;
- ``learns_its_rate``, ``count_flops_at_target_rate()`` and ``run_at_target_rate()``: for a model whose
  chunk boundaries are learned, whose FLOPs per byte move as it trains.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import torch
from safetensors.torch import load_model
from torch import nn

from byteword.data import Batch, collate
from byteword.models.config import ModelConfig


class LanguageModel(nn.Module):
    Config: ClassVar[type[ModelConfig]]
    PARTS: ClassVar[dict[str, tuple[str, ...]]]
    batch_kind: ClassVar[str] = "bytes"  # the kind of ``byteword.data.collate`` batch it reads
    # True when the model draws its own chunk boundaries, so that its FLOPs per byte change as it learns:
    # training re-measures them at every evaluation
    learns_its_rate: ClassVar[bool] = False
    # True when every size the forward depends on is a dimension of the batch that ``pad_to_capacity``
    # pads: a compiled step then compiles one graph of fixed shapes per capacity, which on a CPU runs
    # faster than one graph of symbolic sizes (inductor copies tensors whose size it cannot prove)
    static_shapes: ClassVar[bool] = False

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg

    @classmethod
    def build(cls, cfg: ModelConfig, tokenizer=None, upstream: "LanguageModel | None" = None) -> "LanguageModel":
        """The model of ``cfg``. A family with an upstream model holds it frozen (its weights saved with the
        model's, so that the trained model loads on its own); without one, it builds an untrained upstream of
        the configured shape (for sizing and tests)."""
        return cls(cfg)

    @classmethod
    def from_run(cls, cfg: ModelConfig, run_dir: Path, tokenizer=None) -> "LanguageModel":
        """The model saved in ``run_dir`` (a pretrain folder): built from ``cfg``, its weights loaded from
        ``model.safetensors`` (a frozen upstream model's too: they are saved with the model's)."""
        model = cls.build(cfg, tokenizer)
        load_model(model, str(Path(run_dir) / "model.safetensors"))
        return model

    def save_copy(self, run_dir: Path) -> None:
        """An imported model's copy in its pretrain folder, which ``from_run`` reads back (only families whose
        config is ``imported`` have one)."""
        raise NotImplementedError(f"{type(self).__name__} is trained by byteword, not imported")

    def window_tokenizer(self, tokenizer):
        """The tokenizer whose tokens this model's evaluation windows carry (``byteword.data.eval_windows``):
        the BPE tokenizer it reads, or None for a model of bytes."""
        return tokenizer

    def fit_to_training_split(self, windows: list[bytes]) -> None:
        """Fix, before the first training step, what the family derives from training windows (a no-op
        unless a family overrides it)."""

    def collate(self, windows, tokenizer=None) -> Batch:
        """The batch this model reads from ``windows`` (``byteword.data.Window`` objects or plain bytes)."""
        return collate(windows, self.batch_kind, tokenizer)

    def pad_to_capacity(self, batch: Batch) -> Batch:
        """The batch a compiled training step reads: ``batch`` with the sizes that vary from batch to batch
        padded to their ``capacity``, scoring the same bytes (unchanged by default)."""
        return batch

    def analytic_flops(self, batch) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not count its FLOPs")

    def word_readings(self, batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} has no word readings")

    def text_states(self, out) -> torch.Tensor:
        """(B, T_level, d) the states of the level that stands for a text: by default its byte states."""
        return out.hidden["byte"]

    def read_positions(self, batch, row: int, a: int, b: int) -> torch.Tensor:
        """Positions in ``text_states`` of the states that have just read bytes [a, b) of window ``row``.
        A level predicts its unit i from the state at i, which has read the units before i; so the state
        that has read unit j sits at j + 1 (the window must hold one unit after the span)."""
        return torch.arange(a + 1, b + 1)

    def token_embeddings(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(V, d) input embeddings and (V, d) output head of a model that reads tokens; None for bytes."""
        return None

    # The chunk length (bytes) a family's ``analytic_flops`` assumes instead of counting the chunks it draws,
    # and the one its forward draws chunks at for timing (never causal, never scored); None (the default,
    # and always for fixed units): the chunks the model really draws. Set by the two hooks below.
    planned_chunk_bytes: float | None = None
    fixed_chunk_bytes: float | None = None

    def count_flops_at_target_rate(self) -> None:
        """Count analytic FLOPs at the chunk length the config aims at (``target_bytes_per_chunk``), not at what
        an untrained model draws (compute matching sizes untrained models). A no-op for fixed units."""
        if math.isfinite(self.cfg.target_bytes_per_chunk):
            self.planned_chunk_bytes = self.cfg.target_bytes_per_chunk

    def run_at_target_rate(self) -> None:
        """Draw chunks at the length the config aims at in the forward pass itself, for timing. A no-op for
        fixed units."""
        if math.isfinite(self.cfg.target_bytes_per_chunk):
            self.fixed_chunk_bytes = self.cfg.target_bytes_per_chunk
