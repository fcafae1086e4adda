"""One causal transformer language model for BPE ids and for raw bytes (GPT-2 style, pre-norm,
RoPE, no biases, optional sliding-window attention). On bytes the input vocabulary is 256 bytes +
BOS and the head predicts 256 bytes, so a model with a zero head is exactly uniform: 8 bits per
byte. On BPE its chunks are tokens: ``boundaries`` marks each token's first byte."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from byteword.flops import linear_flops, stack_flops
from byteword.models.layers import Stack, init_weights
from byteword.models.output import ModelOutput, byte_greedy_hits

BYTE_BOS = 256


class Transformer(nn.Module):
    PARTS = {"embedding": ("embed.", "head."), "backbone": ("stack.",)}

    def __init__(self, cfg, vocab_size: int | None = None, bos_id: int | None = None,
                 first_bytes: list[int] | None = None):
        super().__init__()
        self.cfg = cfg
        self.reads_bytes = cfg.input == "bytes"
        vocab_in = 257 if self.reads_bytes else vocab_size
        self.vocab_out = 256 if self.reads_bytes else vocab_size
        self.bos_id = BYTE_BOS if self.reads_bytes else bos_id
        self.embed = nn.Embedding(vocab_in, cfg.d_model)
        self.stack = Stack(cfg.d_model, cfg.n_layers, cfg.n_heads)
        self.head = nn.Linear(cfg.d_model, self.vocab_out, bias=False)
        init_weights(self)
        if not self.reads_bytes:  # (vocab,) first byte each BPE id stands for (-1: BOS), for greedy hits; not saved
            self.register_buffer("first_bytes", torch.tensor(first_bytes or [-1] * vocab_size), persistent=False)

    batch_kind = property(lambda self: "bytes" if self.reads_bytes else "bpe")

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
        # credit each token's log-likelihood to the last byte it covers
        byte_lp = torch.zeros_like(batch.bytes, dtype=lp.dtype)
        byte_lp.scatter_add_(1, batch.token_end.clamp(min=0), lp)
        # a token starts one byte after the previous token ends; the first at byte 0
        starts = torch.cat([torch.zeros_like(batch.token_end[:, :1]), batch.token_end[:, :-1] + 1], dim=1)
        boundaries = torch.zeros_like(batch.byte_mask)
        rows = mask.nonzero(as_tuple=True)[0]
        boundaries[rows, starts[mask]] = True
        return ModelOutput(byte_logprobs=byte_lp, byte_mask=batch.byte_mask, boundaries=boundaries,
                           hidden={"token": h}, **self.token_greedy_hits(logp, batch, rows, starts))

    def token_greedy_hits(self, logp, batch, rows, starts) -> dict:
        """Hits of BPE predictions on bytes: a token's hit lands on its last byte, and the first byte of the
        top token lands on the byte where the prediction starts (a top token " and" still starts a word)."""
        if self.training:
            return {}
        mask = batch.target_mask
        top = logp.argmax(-1)  # (B, T)
        byte_hit = torch.ones_like(batch.byte_mask)
        byte_hit[rows, batch.token_end[mask]] = (top == batch.targets)[mask]
        start_hit = torch.zeros_like(batch.byte_mask)
        start_hit[rows, starts[mask]] = self.first_bytes[top[mask]] == batch.bytes[rows, starts[mask]]
        return {"byte_hit": byte_hit, "start_hit": start_hit}

    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch: the stack over every input position, then the head."""
        T = batch.bytes.shape[1] if self.reads_bytes else batch.ids.shape[1]
        cfg = self.cfg
        return stack_flops(T, T, cfg.d_model, cfg.n_layers, cfg.attention_window) + linear_flops(
            T, cfg.d_model, self.vocab_out)

    @torch.no_grad()
    def static_word_vectors(self, batch) -> torch.Tensor:
        """One vector per window holding a single word: for bytes the mean of the final hidden states
        over the word's bytes (read after BOS); for BPE the mean of its tokens' input embeddings. (B, d)"""
        if self.reads_bytes:
            x = batch.bytes
            ids = torch.cat([torch.full_like(x[:, :1], BYTE_BOS), x], dim=1)
            h, mask = self.hidden_states(ids)[:, 1:], batch.byte_mask  # states after reading each byte
        else:
            h, mask = self.embed(batch.targets.clamp(min=0)), batch.target_mask
        m = mask[..., None].to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1)
