"""One causal transformer language model for BPE ids and for raw bytes (GPT-2 style, pre-norm,
RoPE, no biases, optional sliding-window attention). On bytes the input vocabulary is 256 bytes +
BOS and the head predicts 256 bytes, so a model with a zero head is exactly uniform: 8 bits per
byte. On BPE its chunks are tokens: ``boundaries`` marks each token's first byte."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from byteword.flops import linear_flops, stack_flops
from byteword.models.config import ModelConfig
from byteword.models.layers import Stack, init_weights
from byteword.models.output import ModelOutput, byte_greedy_hits
from byteword.models.protocol import LanguageModel

BYTE_BOS = 256


@dataclass(frozen=True, kw_only=True)
class TransformerConfig(ModelConfig):
    tokenizer: str | None = None  # a BPE tokenizer such as "bpe1024" whose ids it reads; None: raw bytes
    attention_window: int | None = None  # sliding-window attention, in positions

    family: ClassVar[str] = "transformer"

    def describe(self) -> str:
        return (self.tokenizer or "bytes") + (f", window {self.attention_window}" if self.attention_window else "")

    @property
    def tokenizer_name(self) -> str | None:
        return self.tokenizer


def token_starts(batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) first byte of every token of a batch of kind "bpe" (one after the previous token's end, the first
    at 0) and (B, T) bool, True at the real tokens that hold a byte of their own (not the second piece of a
    character a pretrained model's tokenizer splits, which ends where the first piece does)."""
    starts = torch.cat([torch.zeros_like(batch.token_end[:, :1]), batch.token_end[:, :-1] + 1], dim=1)
    return starts, batch.target_mask & (starts <= batch.token_end)


def credit_tokens(lp: torch.Tensor, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) log-likelihoods of a batch of kind "bpe"'s target tokens (0 at padding) -> (B, W) credited to
    the last byte each token covers, and (B, W) bool True at the first byte of each token."""
    byte_lp = torch.zeros_like(batch.bytes, dtype=lp.dtype)
    byte_lp.scatter_add_(1, batch.token_end.clamp(min=0), lp)
    starts, opens = token_starts(batch)
    boundaries = torch.zeros_like(batch.byte_mask)
    boundaries[opens.nonzero(as_tuple=True)[0], starts[opens]] = True
    return byte_lp, boundaries


def token_greedy_hits(logp, batch, first_bytes: torch.Tensor) -> dict:
    """Hits of token predictions on bytes (``first_bytes`` (V,) the first byte each id stands for, -1 where
    none): a byte hits when every token credited to it was the top choice (two pieces of one character are
    both), and the first byte of the top token lands on the byte where the prediction starts (a top token
    " and" still starts a word)."""
    mask = batch.target_mask
    top = logp.argmax(-1)  # (B, T)
    misses = torch.zeros_like(batch.bytes)
    misses.index_put_((mask.nonzero(as_tuple=True)[0], batch.token_end[mask]), (top != batch.targets)[mask].long(),
                      accumulate=True)
    starts, opens = token_starts(batch)
    rows = opens.nonzero(as_tuple=True)[0]
    start_hit = torch.zeros_like(batch.byte_mask)
    start_hit[rows, starts[opens]] = first_bytes[top[opens]] == batch.bytes[rows, starts[opens]]
    return {"byte_hit": misses == 0, "start_hit": start_hit}


def token_read_positions(batch, row: int, a: int, b: int) -> torch.Tensor:
    """Positions of the token states that have just read bytes [a, b) of a batch of kind "bpe"'s window
    ``row``: those after each token whose last byte lies in [a, b) (a token state at i has read tokens < i)."""
    ends = batch.token_end[row][batch.target_mask[row]]  # (T,) last byte of each token
    return ((ends >= a) & (ends < b)).nonzero()[:, 0] + 1


def read_words(units, mask, embed, states, start_id: int) -> dict[str, torch.Tensor]:
    """The two readings of one-word windows read as (B, n) units (bytes or token ids; padding after each
    word) with (B, n) ``mask``: ``input`` (B, d) the mean of ``embed(units)`` over the word, ``output`` (B, d)
    the state ``states`` (ids (B, n+1) -> (B, n+1, d)) gives at the position that has read the whole word
    after ``start_id``. Padding comes after each word, so causal attention keeps it out of both."""
    emb = embed(units)  # (B, n, d)
    m = mask[..., None].to(emb.dtype)
    ids = torch.cat([torch.full_like(units[:, :1], start_id), units], dim=1)  # (B, n+1)
    h = states(ids)  # (B, n+1, d)
    last = mask.sum(1)  # (B,) the position that has read every unit of its word
    return {"input": (emb * m).sum(1) / m.sum(1).clamp(min=1), "output": h[torch.arange(len(last)), last]}


class Transformer(LanguageModel):
    Config = TransformerConfig
    PARTS = {"embedding": ("embed.", "head."), "backbone": ("stack.",)}

    def __init__(self, cfg: TransformerConfig, vocab_size: int | None = None, bos_id: int | None = None,
                 first_bytes: list[int] | None = None):
        super().__init__(cfg)
        self.reads_bytes = cfg.tokenizer is None
        vocab_in = 257 if self.reads_bytes else vocab_size
        self.vocab_out = 256 if self.reads_bytes else vocab_size
        self.bos_id = BYTE_BOS if self.reads_bytes else bos_id
        bb = cfg.backbone
        self.embed = nn.Embedding(vocab_in, bb.d_model)
        self.stack = Stack(bb.d_model, bb.n_layers, bb.n_heads)
        self.head = nn.Linear(bb.d_model, self.vocab_out, bias=False)
        init_weights(self)
        if not self.reads_bytes:  # (vocab,) first byte each BPE id stands for (-1: BOS), for greedy hits; not saved
            self.register_buffer("first_bytes", torch.tensor(first_bytes or [-1] * vocab_size), persistent=False)

    @classmethod
    def build(cls, cfg: TransformerConfig, tokenizer=None, upstream=None) -> "Transformer":
        if cfg.tokenizer is None:  # raw bytes: a tokenizer passed along is not read
            return cls(cfg)
        from byteword.tokenization import bos_id, special_ids, token_bytes

        specials = special_ids(tokenizer)
        first_bytes = [-1 if i in specials else token_bytes(tokenizer, i)[0] for i in range(tokenizer.get_vocab_size())]
        return cls(cfg, vocab_size=tokenizer.get_vocab_size(), bos_id=bos_id(tokenizer), first_bytes=first_bytes)

    batch_kind = property(lambda self: "bytes" if self.reads_bytes else "bpe")

    def text_states(self, out) -> torch.Tensor:
        """Byte states, or the BPE token states."""
        return out.hidden["byte" if self.reads_bytes else "token"]

    def read_positions(self, batch, row: int, a: int, b: int) -> torch.Tensor:
        """On bytes, the protocol's default; on BPE, the positions after each token whose last byte lies
        in [a, b) (a token state at i has read tokens < i)."""
        if self.reads_bytes:
            return super().read_positions(batch, row, a, b)
        return token_read_positions(batch, row, a, b)

    def token_embeddings(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        return None if self.reads_bytes else (self.embed.weight, self.head.weight)

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) input ids -> (B, T, d_model) final-layer states."""
        return self.stack(self.embed(ids), causal=True, window=self.cfg.attention_window)

    def forward(self, batch) -> ModelOutput:
        if self.reads_bytes:
            x = batch.bytes  # (B, W): predict every byte, the first one from BOS
            ids = torch.cat([torch.full_like(x[:, :1], BYTE_BOS), x[:, :-1]], dim=1)
            targets, mask = x, batch.byte_mask
        else:
            ids, targets, mask = batch.ids, batch.targets, batch.target_mask  # (B, T) tokens
        h = self.hidden_states(ids)
        logp = F.log_softmax(self.head(h).float(), dim=-1)
        lp = logp.gather(-1, targets.clamp(min=0)[..., None])[..., 0] * mask  # (B, T)
        if self.reads_bytes:
            return ModelOutput(byte_logprobs=lp, byte_mask=batch.byte_mask, hidden={"byte": h},
                               **byte_greedy_hits(logp, targets, self.training))
        byte_lp, boundaries = credit_tokens(lp, batch)
        hits = {} if self.training else token_greedy_hits(logp, batch, self.first_bytes)
        return ModelOutput(byte_logprobs=byte_lp, byte_mask=batch.byte_mask, boundaries=boundaries,
                           hidden={"token": h}, **hits)

    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch: the stack over every input position, then the head."""
        T = batch.bytes.shape[1] if self.reads_bytes else batch.ids.shape[1]
        bb = self.cfg.backbone
        return stack_flops(T, T, bb.d_model, bb.n_layers, self.cfg.attention_window) + linear_flops(
            T, bb.d_model, self.vocab_out)

    def word_units(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The units a window of one word is made of: (B, n) bytes or BPE ids (padding clamped to 0) and
        (B, n) bool, True at the word's units."""
        if self.reads_bytes:
            return batch.bytes, batch.byte_mask
        return batch.targets.clamp(min=0), batch.target_mask

    @torch.no_grad()
    def word_readings(self, batch) -> dict[str, torch.Tensor]:
        """The two readings of a word, for a batch whose windows each hold one word " word":

        - ``input`` (B, d_model): the mean of the input embeddings over the word's units (its bytes, or the
          BPE tokens the tokenizer gives " word" alone): what the stack receives for the word;
        - ``output`` (B, d_model): the final-layer state at the word's last unit, read after BOS. The stack
          reads [BOS, u_0, .., u_{n-1}] and its position i has read BOS and u_{<i}, so position n is the
          state that has read the whole word (the one that predicts what follows it).

        Batch padding comes after each word, so causal attention keeps it out of both readings."""
        units, mask = self.word_units(batch)  # (B, n), (B, n)
        return read_words(units, mask, self.embed, self.hidden_states, self.bos_id)
