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

Pooling (config ``pooling``, so a comparison isolates it): ``word_token`` (HAT: one token after the
last byte), ``mean`` (mean of the word's byte states), ``cross_attention`` (Byte2Word: one learned
query attends over the word's byte states) and ``multi`` (Learn Your Tokens: ``vectors_per_word``
tokens after the last byte, their states concatenated and projected to one backbone input).

Accounting: every byte prediction is credited to its byte; each EOW prediction is credited to the
first byte of the next word (the byte that reveals the word has ended). A window's last word has no
next word inside the window, so its EOW is not predicted there: it is paid in the window that scores
the next word's first byte, and at a document's end nobody pays one, exactly as a byte model pays
nothing after the last byte. Departures from HAT: learned absolute positions
inside the encoder besides rotary ones (on the demo corpus, positions and a second encoder layer
lowered validation BPB by 0.18 bits), the backbone state is both a prefix and added to every
decoder input, and words come from `byteword.segment` rather than a whitespace split. Departure
from Learn Your Tokens: its k word vectors are merged into one backbone position, so every pooling
gives the backbone the same sequence length.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from byteword.flops import linear_flops, stack_flops
from byteword.models.layers import Stack, init_weights
from byteword.models.output import ModelOutput

WORD_TOKEN = 256  # encoder input: the first slot whose output becomes (part of) the word vector
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
    PARTS = {"embedding": ("enc_embed.", "head."), "encoder": ("enc_pos.", "encoder.", "to_backbone.", "pool_"),
             "backbone": ("bos", "backbone."), "decoder": ("to_decoder.", "bytes_to_decoder.", "decoder.")}

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        enc, bb, dec = cfg.encoder, cfg.backbone, cfg.decoder
        # word tokens appended after the bytes: 1 for word_token, k for multi, none for mean / cross_attention
        self.n_word_tokens = {"word_token": 1, "multi": cfg.vectors_per_word}.get(cfg.pooling, 0)
        self.enc_embed = nn.Embedding(256 + self.n_word_tokens, enc.d_model)
        # one learned position per slot: a word's bytes at 0..n-1, its tokens at n..n+k-1
        self.enc_pos = nn.Embedding(cfg.max_word_bytes + self.n_word_tokens, enc.d_model)
        self.encoder = Stack(enc.d_model, enc.n_layers, enc.n_heads)
        if cfg.pooling == "cross_attention":
            self.pool_query = nn.Parameter(torch.zeros(enc.d_model))
            self.pool_kv = nn.Linear(enc.d_model, 2 * enc.d_model, bias=False)
        self.to_backbone = nn.Linear(max(self.n_word_tokens, 1) * enc.d_model, bb.d_model, bias=False)
        self.bos = nn.Parameter(torch.zeros(bb.d_model))
        self.backbone = Stack(bb.d_model, bb.n_layers, bb.n_heads)
        self.to_decoder = nn.Linear(bb.d_model, dec.d_model, bias=False)
        self.bytes_to_decoder = nn.Linear(enc.d_model, dec.d_model, bias=False)
        self.decoder = Stack(dec.d_model, dec.n_layers, dec.n_heads)
        self.head = nn.Linear(dec.d_model, 257, bias=False)  # 256 bytes + EOW
        init_weights(self)
        nn.init.normal_(self.bos, std=0.02)
        if cfg.pooling == "cross_attention":
            nn.init.normal_(self.pool_query, std=0.02)

    def encode_words(self, words: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(M, L) word bytes, (M,) lengths -> word vectors (M, d_bb) and byte states (M, L, d_enc).

        The encoder is causal inside the word, so byte j's state depends on bytes <= j only (the decoder
        reuses it); word tokens sit right after the last byte and so read the whole word."""
        M, L = words.shape
        k = self.n_word_tokens
        rows = torch.arange(M, device=words.device)
        x = torch.cat([words, words.new_zeros(M, k)], dim=1)  # (M, L+k): k slots even after a short word
        for j in range(k):
            x[rows, lengths + j] = WORD_TOKEN + j
        h = self.encoder(self.enc_embed(x) + self.enc_pos.weight[: L + k], causal=True)  # (M, L+k, d_enc)
        byte_states = h[:, :L]
        in_word = torch.arange(L, device=words.device)[None, :] < lengths[:, None]  # (M, L)
        if self.cfg.pooling == "mean":
            m = in_word[..., None].to(h.dtype)
            pooled = (byte_states * m).sum(1) / m.sum(1)  # (M, d_enc)
        elif self.cfg.pooling == "cross_attention":
            n_heads, d = self.cfg.encoder.n_heads, h.shape[-1]
            kv = self.pool_kv(byte_states).view(M, L, 2, n_heads, d // n_heads).permute(2, 0, 3, 1, 4)  # 2x(M,H,L,Dh)
            q = self.pool_query.view(1, n_heads, 1, d // n_heads).expand(M, -1, -1, -1)  # (M, H, 1, Dh)
            pooled = F.scaled_dot_product_attention(q, kv[0], kv[1], attn_mask=in_word[:, None, None, :])
            pooled = pooled.reshape(M, d)
        else:  # word_token / multi: the k token states side by side
            idx = lengths[:, None] + torch.arange(k, device=words.device)[None, :]  # (M, k)
            pooled = h[rows[:, None], idx].reshape(M, -1)  # (M, k * d_enc)
        return self.to_backbone(pooled), byte_states

    def decode_logprobs(self, words: torch.Tensor, lengths: torch.Tensor, byte_states: torch.Tensor,
                        ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(M, L) word bytes, (M,) lengths, (M, L, d_enc) encoder byte states, (M, d_dec) backbone context
        -> (M, L+1) log-likelihoods of each word's bytes followed by EOW at position ``length`` (0 beyond),
        and (M, L+1) bool: whether each of those targets was the decoder's top choice."""
        L = words.shape[1]
        ctx = ctx[:, None]  # (M, 1, d_dec)
        dec_in = torch.cat([ctx, self.bytes_to_decoder(byte_states) + ctx], dim=1)  # (M, L+1, d_dec)
        logp = F.log_softmax(self.head(self.decoder(dec_in, causal=True)).float(), dim=-1)  # (M, L+1, 257)
        pos = torch.arange(L + 1, device=words.device)[None, :]  # (1, L+1)
        targets = torch.cat([words, torch.zeros_like(words[:, :1])], dim=1)
        targets = torch.where(pos == lengths[:, None], torch.full_like(targets, EOW), targets)
        return logp.gather(-1, targets[..., None])[..., 0] * (pos <= lengths[:, None]), logp.argmax(-1) == targets

    def forward(self, batch) -> ModelOutput:
        B, N, L = batch.word_bytes.shape
        valid = batch.word_len > 0  # (B, N); real words form a prefix of each row
        words, lengths = batch.word_bytes[valid], batch.word_len[valid]  # (M, L), (M,)
        M, d_bb = len(lengths), self.cfg.backbone.d_model
        vectors = self.bos.new_zeros(M, d_bb)
        buckets = []  # (word indices, their longest length, their encoder byte states)
        for idx, longest in length_buckets(lengths):
            bucket_vectors, byte_states = self.encode_words(words[idx, :longest], lengths[idx])
            vectors[idx] = bucket_vectors.to(vectors.dtype)  # float32 even when autocast computes in bf16
            buckets.append((idx, longest, byte_states))
        word_vecs = vectors.new_zeros(B, N, d_bb)
        word_vecs[valid] = vectors
        bb_in = torch.cat([self.bos.expand(B, 1, -1), word_vecs[:, :-1]], dim=1)  # position i reads words < i
        states = self.backbone(bb_in, causal=True)  # (B, N, d_bb)

        ctx = self.to_decoder(states[valid])  # (M, d_dec)
        lp = ctx.new_zeros(M, L + 1, dtype=torch.float32)  # (M, L+1): bytes, then EOW at position length
        hit = torch.ones(M, L + 1, dtype=torch.bool, device=lp.device)  # top choice == target, same layout
        for idx, longest, byte_states in buckets:
            lp[idx, : longest + 1], hit[idx, : longest + 1] = self.decode_logprobs(
                words[idx, :longest], lengths[idx], byte_states, ctx[idx])
        pos = torch.arange(L + 1, device=words.device)[None, :]  # (1, L+1)

        # bytes keep their own log-likelihood; a word's EOW term goes to the first byte of the next word,
        # the byte that shows the word has ended, so a window (or a document) ending with a word pays no
        # EOW for it: nobody pays for closing a word that may go on beyond the scored text
        word_rows = torch.arange(M, device=lp.device)
        eow_lp, eow_hit = lp[word_rows, lengths], hit[word_rows, lengths]  # (M,)
        row_of, word_start = valid.nonzero()[:, 0], batch.word_start[valid]  # (M,) each
        closed = torch.zeros(M, dtype=torch.bool, device=lp.device)  # words followed by a word of their row
        closed[:-1] = row_of[1:] == row_of[:-1]
        nxt = closed.nonzero()[:, 0]  # (K,) words whose EOW is credited, to word nxt + 1's first byte
        byte_pos = word_start[:, None] + pos[:, :L]  # (M, L) position in the window
        in_word = pos[:, :L] < lengths[:, None]
        rows = row_of[:, None].expand(-1, L)
        byte_lp = torch.zeros(batch.bytes.shape, dtype=lp.dtype, device=lp.device)
        byte_lp.index_put_((rows[in_word], byte_pos[in_word]), lp[:, :L][in_word], accumulate=True)
        byte_lp.index_put_((row_of[nxt], word_start[nxt + 1]), eow_lp[nxt], accumulate=True)
        hits = {}
        if not self.training:  # the first byte of a word also carries the previous word's EOW hit
            start_hit = torch.zeros_like(batch.byte_mask)
            start_hit[rows[in_word], byte_pos[in_word]] = hit[:, :L][in_word]
            byte_hit = start_hit.clone()
            byte_hit[row_of[nxt], word_start[nxt + 1]] &= eow_hit[nxt]
            hits = {"byte_hit": byte_hit | ~batch.byte_mask, "start_hit": start_hit}

        boundaries = torch.zeros_like(batch.byte_mask)
        boundaries[valid.nonzero()[:, 0], batch.word_start[valid]] = True
        return ModelOutput(byte_logprobs=byte_lp, byte_mask=batch.byte_mask, boundaries=boundaries,
                           hidden={"word": word_vecs, "backbone": states}, **hits)

    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch, words padded to their length bucket as ``forward`` does."""
        enc, bb, dec, k = self.cfg.encoder, self.cfg.backbone, self.cfg.decoder, self.n_word_tokens
        lengths = batch.word_len[0][batch.word_len[0] > 0]
        total = 0.0
        for idx, longest in length_buckets(lengths):
            m = len(idx)
            total += stack_flops(m * (longest + k), longest + k, enc.d_model, enc.n_layers)  # encoder
            total += stack_flops(m * (longest + 1), longest + 1, dec.d_model, dec.n_layers)  # decoder
            total += linear_flops(m * (longest + 1), dec.d_model, 257)  # byte + EOW head
            total += linear_flops(m * longest, enc.d_model, dec.d_model)  # byte states into the decoder
            if self.cfg.pooling == "cross_attention":  # keys/values, then one query's scores and sum
                total += linear_flops(m * longest, enc.d_model, 2 * enc.d_model) + m * 4 * longest * enc.d_model
        n = len(lengths)
        total += linear_flops(n, max(k, 1) * enc.d_model, bb.d_model)  # word vectors
        total += stack_flops(n, n, bb.d_model, bb.n_layers) + linear_flops(n, bb.d_model, dec.d_model)
        return total

    @torch.no_grad()
    def word_readings(self, batch) -> dict[str, torch.Tensor]:
        """The two readings of a word, for a batch of kind "words" whose windows each hold one word " word"
        (N >= 1 pieces: the splitter cuts " don't" into " don", "'", "t", and chops words longer than
        ``max_word_bytes``):

        - ``input`` (B, d_bb): the encoder's word vector, what the backbone receives for the word (the mean
          over its pieces when there are several);
        - ``output`` (B, d_bb): the backbone state that has read the word. The backbone reads
          [BOS, w_0, .., w_{N-1}] and its position i has read the pieces before i only (the state that
          predicts piece i), so the word is read at position N, one past its last piece: the state the
          decoder would start the next word from, not the state at the word's own position (which has
          read only BOS)."""
        valid = batch.word_len > 0  # (B, N): the real pieces form a prefix of each row
        B, d_bb = valid.shape[0], self.cfg.backbone.d_model
        vecs = self.bos.new_zeros(*valid.shape, d_bb)  # (B, N, d_bb), zeros after a row's last piece
        vecs[valid] = self.encode_words(batch.word_bytes[valid], batch.word_len[valid])[0].to(vecs.dtype)
        m = valid[..., None].to(vecs.dtype)
        states = self.backbone(torch.cat([self.bos.expand(B, 1, -1), vecs], dim=1), causal=True)  # (B, N+1, d_bb)
        return {"input": (vecs * m).sum(1) / m.sum(1).clamp(min=1),
                "output": states[torch.arange(B), valid.sum(1)]}  # causal: the zeros after it are not read
