"""Hierarchical byte-to-word language model, following HAT ("Hierarchical Autoregressive
Transformers", Neitemeier et al. 2025):

1. encoder: a small bidirectional transformer over each word's bytes plus a word token; the word
   token's output, projected, is the word vector;
2. backbone: a causal transformer over word vectors, with a learned BOS vector first, so its output
   at position i has read words 0..i-1 only;
3. decoder: a small causal byte transformer that, from backbone state i, predicts the bytes of word
   i and then an end-of-word symbol (EOW).

Accounting: every byte prediction is credited to its byte; each EOW prediction is credited to the
last byte of the word it ends. The EOW of a window's final word is also counted (conservative:
reconstructing the text needs every boundary). Departures from HAT: one word token per word
(pooling `word_token`), the backbone state is both a prefix and added to every decoder input, and
words come from `byteword.segment` rather than a whitespace split.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from byteword.models.layers import Stack, init_weights
from byteword.models.output import ModelOutput

WORD_TOKEN = 256  # encoder input: the slot whose output becomes the word vector
EOW = 256  # decoder output: end of word


class Hierarchical(nn.Module):
    batch_kind = "words"

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        enc, bb, dec = cfg.encoder, cfg.backbone, cfg.decoder
        self.enc_embed = nn.Embedding(257, enc.d_model)
        self.encoder = Stack(enc.d_model, enc.n_layers, enc.n_heads)
        self.to_backbone = nn.Linear(enc.d_model, bb.d_model, bias=False)
        self.bos = nn.Parameter(torch.zeros(bb.d_model))
        self.backbone = Stack(bb.d_model, bb.n_layers, bb.n_heads)
        self.to_decoder = nn.Linear(bb.d_model, dec.d_model, bias=False)
        self.dec_embed = nn.Embedding(256, dec.d_model)
        self.decoder = Stack(dec.d_model, dec.n_layers, dec.n_heads)
        self.head = nn.Linear(dec.d_model, 257, bias=False)  # 256 bytes + EOW
        init_weights(self)
        nn.init.normal_(self.bos, std=0.02)

    def encode_words(self, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(M, L) word bytes, (M,) lengths -> (M, d_backbone) word vectors."""
        x = torch.cat([torch.full_like(words[:, :1], WORD_TOKEN), words], dim=1)  # (M, L+1)
        real = torch.arange(x.shape[1], device=x.device)[None, :] <= lengths[:, None]  # word token + bytes
        h = self.encoder(self.enc_embed(x), causal=False, key_padding=real)  # (M, L+1, d_enc)
        return self.to_backbone(h[:, 0])

    def forward(self, batch) -> ModelOutput:
        B, N, L = batch.word_bytes.shape
        valid = batch.word_len > 0  # (B, N); real words form a prefix of each row
        words, lengths = batch.word_bytes[valid], batch.word_len[valid]  # (M, L), (M,)
        vectors = self.encode_words(words, lengths)  # (M, d_bb)
        word_vecs = vectors.new_zeros(B, N, vectors.shape[-1])
        word_vecs[valid] = vectors
        bb_in = torch.cat([self.bos.expand(B, 1, -1), word_vecs[:, :-1]], dim=1)  # position i reads words < i
        states = self.backbone(bb_in, causal=True)  # (B, N, d_bb)

        ctx = self.to_decoder(states[valid])[:, None]  # (M, 1, d_dec)
        dec_in = torch.cat([ctx, self.dec_embed(words) + ctx], dim=1)  # (M, L+1, d_dec)
        logp = F.log_softmax(self.head(self.decoder(dec_in, causal=True)).float(), dim=-1)  # (M, L+1, 257)
        pos = torch.arange(L + 1, device=words.device)[None, :]  # (1, L+1)
        targets = torch.cat([words, torch.zeros_like(words[:, :1])], dim=1)
        targets = torch.where(pos == lengths[:, None], torch.full_like(targets, EOW), targets)
        lp = logp.gather(-1, targets[..., None])[..., 0] * (pos <= lengths[:, None])  # (M, L+1)

        # bytes keep their own log-likelihood; the EOW term joins the word's last byte
        per_byte = lp[:, :L].clone()
        per_byte[torch.arange(len(lengths)), lengths - 1] += lp[torch.arange(len(lengths)), lengths]
        byte_pos = batch.word_start[valid][:, None] + pos[:, :L]  # (M, L) position in the window
        in_word = pos[:, :L] < lengths[:, None]
        rows = valid.nonzero()[:, 0][:, None].expand(-1, L)
        byte_lp = torch.zeros(batch.bytes.shape, dtype=lp.dtype, device=lp.device)
        byte_lp.index_put_((rows[in_word], byte_pos[in_word]), per_byte[in_word], accumulate=True)

        last = torch.zeros_like(valid)
        last[torch.arange(B), valid.sum(1) - 1] = True  # each row's final word
        end_lp = torch.zeros(B, dtype=lp.dtype, device=lp.device)
        end_lp[last.nonzero()[:, 0]] = lp[torch.arange(len(lengths)), lengths][last[valid]]

        boundaries = torch.zeros_like(batch.byte_mask)
        boundaries[valid.nonzero()[:, 0], batch.word_start[valid]] = True
        return ModelOutput(byte_logprobs=byte_lp, byte_mask=batch.byte_mask, boundaries=boundaries,
                           hidden={"word": word_vecs, "backbone": states}, end_logprob=end_lp)

    @torch.no_grad()
    def static_word_vectors(self, batch) -> torch.Tensor:
        """The encoder's word vector; a text that splits into several pieces gets their mean. (B, d_bb)"""
        valid = batch.word_len > 0
        word_vecs = torch.zeros(*valid.shape, self.cfg.backbone.d_model)
        word_vecs[valid] = self.encode_words(batch.word_bytes[valid], batch.word_len[valid])
        m = valid[..., None].float()
        return (word_vecs * m).sum(1) / m.sum(1).clamp(min=1)
