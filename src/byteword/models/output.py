"""The one output type every family returns, so evaluation and embedding code never branch on family."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ModelOutput:
    # (B, W): natural-log likelihood credited to each byte of the window. Predictions that are not
    # bytes are credited to the byte that completes them: a BPE token to its last byte, a hierarchical
    # end-of-word symbol to the next word's first byte. So the sum up to any byte is the log-probability
    # of the text up to it, and a span's sum is what scoring that span costs.
    byte_logprobs: torch.Tensor
    byte_mask: torch.Tensor  # (B, W) bool, True at real (non-padding) bytes
    hidden: dict[str, torch.Tensor] = field(default_factory=dict)  # hidden states by level
    boundaries: torch.Tensor | None = None  # (B, W) bool, True where a word/chunk starts (None if no levels)
    aux_loss: torch.Tensor | float = 0.0
    # Greedy hits under teacher forcing, filled in eval mode only (None while training), both (B, W) bool:
    # byte_hit: every prediction credited to this byte was the model's top choice (True where none is
    #   credited, e.g. inside a BPE token); a word's bytes all hit = the word predicted exactly.
    # start_hit: the top prediction made where this byte begins (a byte, a token, a word's first byte)
    #   starts with this byte (False inside a BPE token, where no prediction begins).
    byte_hit: torch.Tensor | None = None
    start_hit: torch.Tensor | None = None

    @property
    def nll_sum(self) -> torch.Tensor:
        """Total negative log-likelihood in nats over all real bytes."""
        return -(self.byte_logprobs * self.byte_mask).sum()

    @property
    def n_bytes(self) -> int:
        return int(self.byte_mask.sum())

    @property
    def loss(self) -> torch.Tensor:
        """Training objective: nats per byte, plus any auxiliary loss."""
        return self.nll_sum / max(self.n_bytes, 1) + self.aux_loss


def byte_greedy_hits(logp: torch.Tensor, targets: torch.Tensor, training: bool) -> dict:
    """For models that predict every byte from a (B, W, 256) distribution: both hit masks are the
    same (argmax == byte). Empty while training, so the training step pays nothing for them."""
    if training:
        return {}
    hit = logp.argmax(-1) == targets
    return {"byte_hit": hit, "start_hit": hit}
