"""Hierarchical byte-to-word language model, following HAT ("Hierarchical Autoregressive
Transformers", Neitemeier et al. 2025):

1. encoder: a small transformer over each word's bytes, causal inside the word, with a word token
   right after the last byte; the word token's output, projected, is the word vector;
2. backbone: a causal transformer over word vectors, with a learned BOS vector first, so its output
   at position i has read words 0..i-1 only;
3. decoder: a small causal byte transformer that, from backbone state i and the encoder's states of
   word i's bytes (causal, so byte j's state has read bytes <= j only), predicts the bytes of word
   i and then an end-of-word symbol (EOW).

Words are processed in buckets of similar length (padding only to each bucket's longest word),
which gives the same result with less padding than padding every word to the longest in the batch.

Accounting: every byte prediction is credited to its byte; each EOW prediction is credited to the
last byte of the word it ends. The EOW of a window's final word is also counted (conservative:
reconstructing the text needs every boundary). Departures from HAT: one word token per word
(pooling `word_token`), learned absolute positions inside the encoder besides rotary ones (on the
demo corpus, positions and a second encoder layer lowered validation BPB by 0.18 bits), the
backbone state is both a prefix and added to every decoder input, and words come from
`byteword.segment` rather than a whitespace split.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from byteword.models.layers import Stack, init_weights
from byteword.models.output import ModelOutput

WORD_TOKEN = 256  # encoder input: the slot whose output becomes the word vector
EOW = 256  # decoder output: end of word
LENGTH_BUCKETS = (4, 8)  # words of <= 4, 5..8 and longer bytes are padded separately


def length_buckets(lengths: torch.Tensor):
    """Yield (indices, longest length) for groups of words of similar length."""
    edges = (0, *LENGTH_BUCKETS, int(lengths.max()) if len(lengths) else 0)
    for lo, hi in zip(edges[:-1], edges[1:]):
        idx = ((lengths > lo) & (lengths <= hi)).nonzero()[:, 0]
        if len(idx):
            yield idx, int(lengths[idx].max())


class Hierarchical(nn.Module):
    batch_kind = "words"

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        enc, bb, dec = cfg.encoder, cfg.backbone, cfg.decoder
        self.enc_embed = nn.Embedding(257, enc.d_model)
        self.enc_pos = nn.Embedding(cfg.max_word_bytes + 1, enc.d_model)  # bytes at 0..L-1, word token at L
        self.encoder = Stack(enc.d_model, enc.n_layers, enc.n_heads)
        self.to_backbone = nn.Linear(enc.d_model, bb.d_model, bias=False)
        self.bos = nn.Parameter(torch.zeros(bb.d_model))
        self.backbone = Stack(bb.d_model, bb.n_layers, bb.n_heads)
        self.to_decoder = nn.Linear(bb.d_model, dec.d_model, bias=False)
        self.bytes_to_decoder = nn.Linear(enc.d_model, dec.d_model, bias=False)
        self.decoder = Stack(dec.d_model, dec.n_layers, dec.n_heads)
        self.head = nn.Linear(dec.d_model, 257, bias=False)  # 256 bytes + EOW
        init_weights(self)
        nn.init.normal_(self.bos, std=0.02)

    def encode_words(self, words: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(M, L) word bytes, (M,) lengths -> word vectors (M, d_bb) and byte states (M, L, d_enc).

        The encoder is causal inside the word and the word token sits right after the last byte, so
        it reads the whole word while byte j's state depends on bytes <= j only (the decoder reuses it)."""
        M, L = words.shape
        x = torch.cat([words, torch.zeros_like(words[:, :1])], dim=1)  # (M, L+1)
        x[torch.arange(M), lengths] = WORD_TOKEN
        h = self.encoder(self.enc_embed(x) + self.enc_pos.weight[: L + 1], causal=True)  # (M, L+1, d_enc)
        return self.to_backbone(h[torch.arange(M), lengths]), h[:, :L]

    def decode_logprobs(self, words: torch.Tensor, lengths: torch.Tensor, byte_states: torch.Tensor,
                        ctx: torch.Tensor) -> torch.Tensor:
        """(M, L) word bytes, (M,) lengths, (M, L, d_enc) encoder byte states, (M, d_dec) backbone context
        -> (M, L+1) log-likelihoods of each word's bytes followed by EOW at position ``length`` (0 beyond)."""
        L = words.shape[1]
        ctx = ctx[:, None]  # (M, 1, d_dec)
        dec_in = torch.cat([ctx, self.bytes_to_decoder(byte_states) + ctx], dim=1)  # (M, L+1, d_dec)
        logp = F.log_softmax(self.head(self.decoder(dec_in, causal=True)).float(), dim=-1)  # (M, L+1, 257)
        pos = torch.arange(L + 1, device=words.device)[None, :]  # (1, L+1)
        targets = torch.cat([words, torch.zeros_like(words[:, :1])], dim=1)
        targets = torch.where(pos == lengths[:, None], torch.full_like(targets, EOW), targets)
        return logp.gather(-1, targets[..., None])[..., 0] * (pos <= lengths[:, None])

    def forward(self, batch) -> ModelOutput:
        B, N, L = batch.word_bytes.shape
        valid = batch.word_len > 0  # (B, N); real words form a prefix of each row
        words, lengths = batch.word_bytes[valid], batch.word_len[valid]  # (M, L), (M,)
        M, d_bb = len(lengths), self.cfg.backbone.d_model
        vectors = self.bos.new_zeros(M, d_bb)
        buckets = []  # (word indices, their longest length, their encoder byte states)
        for idx, longest in length_buckets(lengths):
            vectors[idx], byte_states = self.encode_words(words[idx, :longest], lengths[idx])
            buckets.append((idx, longest, byte_states))
        word_vecs = vectors.new_zeros(B, N, d_bb)
        word_vecs[valid] = vectors
        bb_in = torch.cat([self.bos.expand(B, 1, -1), word_vecs[:, :-1]], dim=1)  # position i reads words < i
        states = self.backbone(bb_in, causal=True)  # (B, N, d_bb)

        ctx = self.to_decoder(states[valid])  # (M, d_dec)
        lp = ctx.new_zeros(M, L + 1, dtype=torch.float32)  # (M, L+1): bytes, then EOW at position length
        for idx, longest, byte_states in buckets:
            lp[idx, : longest + 1] = self.decode_logprobs(words[idx, :longest], lengths[idx], byte_states, ctx[idx])
        pos = torch.arange(L + 1, device=words.device)[None, :]  # (1, L+1)

        # bytes keep their own log-likelihood; the EOW term joins the word's last byte
        eow_lp = lp[torch.arange(M), lengths]  # (M,)
        per_byte = lp[:, :L].clone()
        per_byte[torch.arange(M), lengths - 1] += eow_lp
        byte_pos = batch.word_start[valid][:, None] + pos[:, :L]  # (M, L) position in the window
        in_word = pos[:, :L] < lengths[:, None]
        rows = valid.nonzero()[:, 0][:, None].expand(-1, L)
        byte_lp = torch.zeros(batch.bytes.shape, dtype=lp.dtype, device=lp.device)
        byte_lp.index_put_((rows[in_word], byte_pos[in_word]), per_byte[in_word], accumulate=True)

        last = torch.zeros_like(valid)
        last[torch.arange(B), valid.sum(1) - 1] = True  # each row's final word
        end_lp = torch.zeros(B, dtype=lp.dtype, device=lp.device)
        end_lp[last.nonzero()[:, 0]] = eow_lp[last[valid]]

        boundaries = torch.zeros_like(batch.byte_mask)
        boundaries[valid.nonzero()[:, 0], batch.word_start[valid]] = True
        return ModelOutput(byte_logprobs=byte_lp, byte_mask=batch.byte_mask, boundaries=boundaries,
                           hidden={"word": word_vecs, "backbone": states}, end_logprob=end_lp)

    @torch.no_grad()
    def static_word_vectors(self, batch) -> torch.Tensor:
        """The encoder's word vector; a text that splits into several pieces gets their mean. (B, d_bb)"""
        valid = batch.word_len > 0
        word_vecs = torch.zeros(*valid.shape, self.cfg.backbone.d_model)
        word_vecs[valid] = self.encode_words(batch.word_bytes[valid], batch.word_len[valid])[0]
        m = valid[..., None].float()
        return (word_vecs * m).sum(1) / m.sum(1).clamp(min=1)
