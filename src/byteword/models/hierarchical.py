"""Hierarchical byte-to-word language model, following HAT ("Hierarchical Autoregressive
Transformers", Neitemeier et al. 2025):

1. encoder: a small transformer over each word's bytes, causal inside the word, with a word token
   right after the last byte; the word token's output, projected, is the word vector;
2. backbone: a causal transformer over word vectors, with a learned BOS vector first, so its output
   at position i has read words 0..i-1 only;
3. decoder: a small causal byte transformer that, from backbone state i and the encoder's states of
   word i's bytes (causal, so byte j's state has read bytes <= j only), predicts the bytes of word
   i and then an end-of-word symbol (EOW).

Every word of a row is laid end to end in one sequence per level (the encoder's word bytes and word
tokens, the decoder's context slot and word bytes) and attention is kept inside each word by a mask,
so that one pass of each small stack serves every word of the batch, with no padding between words
(``packed_layout``); rotary positions are relative, so a word's attention is the same wherever in the
row it sits. No word spans more slots than ``max_word_bytes`` and its tokens, so a long row attends in
blocks of about that many slots, each reading its own and the previous block (``LocalBlocks``).

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

from dataclasses import dataclass, replace
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from byteword.data import capacity, collate, padded_to
from byteword.flops import linear_flops, stack_flops
from byteword.models.config import ConfigError, LevelConfig, ModelConfig
from byteword.models.layers import Stack, gather_rows, init_weights, with_zero_row
from byteword.models.output import ModelOutput
from byteword.models.protocol import LanguageModel

WORD_TOKEN = 256  # encoder input: the first slot whose output becomes (part of) the word vector
EOW = 256  # decoder output: end of word
POOLINGS = ("word_token", "mean", "cross_attention", "multi")


@dataclass(frozen=True, kw_only=True)
class HierarchicalConfig(ModelConfig):
    encoder: LevelConfig
    decoder: LevelConfig
    pooling: str = "word_token"  # how a word's bytes become backbone input (one of POOLINGS)
    vectors_per_word: int = 1  # word tokens per word with pooling "multi" (Learn Your Tokens)
    max_word_bytes: int = 16  # longer words are chopped

    family: ClassVar[str] = "hierarchical"

    def check(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"model '{self.name}': unknown pooling {self.pooling!r}; choose one of "
                              f"{', '.join(POOLINGS)}")
        if (self.pooling == "multi") != (self.vectors_per_word > 1):
            raise ConfigError(f"model '{self.name}': pooling 'multi' needs vectors_per_word > 1, and only it "
                              "takes one")

    def describe(self) -> str:
        k = self.vectors_per_word
        return f"pooling {self.pooling}" + (f" (k={k})" if k > 1 else "")


def packed_layout(batch, k: int) -> dict[str, torch.Tensor]:
    """Where every byte and word sits when each row's words are laid end to end (no tensor per word, no
    host synchronisation). Words tile their window, so with W window bytes and N words per row:

    - encoder, T_e = W + N·k slots: word i's bytes, then its k word tokens; byte t (of word i) sits at
      t + i·k and token j of word i at end_i + i·k + j;
    - decoder, T_d = W + N slots: word i's context slot (its backbone state) at start_i + i, then its bytes,
      byte t at t + i + 1; the slot before a byte's own predicts it, and a word's last byte predicts EOW.

    Padding bytes and padding words point at the last slot, which a row with any padding leaves free.

    Returns (B, ·) long tensors: ``word_of`` (W) the word holding each byte, ``offset`` (W) its place in the
    word, ``byte_slot``/``dec_slot`` (W) each byte's encoder/decoder slot, ``token_slot`` (N, k), the
    encoder's ``ids``, ``positions`` and ``segments`` (T_e), and the decoder's ``dec_word`` (T_d: the word of
    each slot, N for none), ``dec_byte`` (T_d: the window byte whose encoder state feeds the slot, W for
    none) and ``targets`` (T_d); segments are word indices, N for padding."""
    x, real, lengths, starts = batch.bytes, batch.byte_mask, batch.word_len, batch.word_start
    (B, W), N, dev = x.shape, lengths.shape[1], x.device
    valid = lengths > 0  # (B, N): the real words form a prefix of each row
    t = torch.arange(W, device=dev).expand(B, W)
    i = torch.arange(N, device=dev).expand(B, N)
    opens = torch.zeros(B, W + 1, dtype=torch.long, device=dev)
    opens.scatter_add_(1, torch.where(valid, starts, W), valid.long())  # 1 at each word's first byte
    word_of = torch.where(real, opens[:, :W].cumsum(1) - 1, N)  # (B, W)
    offset = t - starts.gather(1, word_of.clamp(max=N - 1))
    ends = starts + lengths  # (B, N): one past each word's last byte

    T_e = W + N * k
    byte_slot = torch.where(real, t + k * word_of, T_e - 1)
    j = torch.arange(k, device=dev)
    token_slot = torch.where(valid[..., None], (ends + k * i)[..., None] + j, T_e - 1)  # (B, N, k)
    full = lambda value, size: torch.full((B, size), value, dtype=torch.long, device=dev)  # noqa: E731
    ids = full(0, T_e).scatter_(1, byte_slot, torch.where(real, x, 0))
    ids.scatter_(1, token_slot.flatten(1), torch.where(valid[..., None], WORD_TOKEN + j, 0).flatten(1))
    positions = full(0, T_e).scatter_(1, byte_slot, torch.where(real, offset, 0))
    positions.scatter_(1, token_slot.flatten(1), torch.where(valid[..., None], lengths[..., None] + j, 0).flatten(1))
    segments = full(N, T_e).scatter_(1, byte_slot, word_of)
    segments.scatter_(1, token_slot.flatten(1), torch.where(valid, i, N)[..., None].expand(B, N, k).flatten(1))

    T_d = W + N
    dec_slot = torch.where(real, t + word_of + 1, T_d - 1)
    ctx_slot = torch.where(valid, starts + i, T_d - 1)
    dec_word = full(N, T_d).scatter_(1, dec_slot, word_of).scatter_(1, ctx_slot, torch.where(valid, i, N))
    dec_byte = full(W, T_d).scatter_(1, dec_slot, torch.where(real, t, W))
    # a byte's slot predicts the next byte of its word, or EOW after the word's last byte
    next_byte = torch.cat([x[:, 1:], x[:, :1]], dim=1)
    last = (t + 1) >= ends.gather(1, word_of.clamp(max=N - 1))
    targets = full(0, T_d).scatter_(1, dec_slot, torch.where(real, torch.where(last, EOW, next_byte), 0))
    targets.scatter_(1, ctx_slot, torch.where(valid, x.gather(1, starts), 0))
    return {"word_of": word_of, "offset": offset, "byte_slot": byte_slot, "token_slot": token_slot, "ids": ids,
            "positions": positions, "segments": segments, "dec_slot": dec_slot, "dec_word": dec_word,
            "dec_byte": dec_byte, "targets": targets}


class Hierarchical(LanguageModel):
    Config = HierarchicalConfig
    batch_kind = "words"
    static_shapes = True
    PARTS = {"embedding": ("enc_embed.", "head."), "encoder": ("enc_pos.", "encoder.", "to_backbone.", "pool_"),
             "backbone": ("bos", "backbone."), "decoder": ("to_decoder.", "bytes_to_decoder.", "decoder.")}

    def __init__(self, cfg: HierarchicalConfig):
        super().__init__(cfg)
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

    def collate(self, windows, tokenizer=None):
        """Windows with the length and start of each word, words longer than ``max_word_bytes`` chopped."""
        return collate(windows, self.batch_kind, max_word_bytes=self.cfg.max_word_bytes)

    def pad_to_capacity(self, batch):
        """Window bytes and words padded to their ``capacity`` (padding bytes are not real, padding words have
        no bytes): the forward's sizes, W and N and from them T_e and T_d, then come from a few values only."""
        (_, W), N = batch.bytes.shape, batch.word_len.shape[1]
        w, n = capacity(W), capacity(N)
        return replace(batch, bytes=padded_to(batch.bytes, w), byte_mask=padded_to(batch.byte_mask, w, False),
                       score_mask=padded_to(batch.score_mask, w, False),
                       word_len=padded_to(batch.word_len, n), word_start=padded_to(batch.word_start, n))

    def text_states(self, out) -> torch.Tensor:
        """The backbone's word states."""
        return out.hidden["backbone"]

    def read_positions(self, batch, row: int, a: int, b: int) -> torch.Tensor:
        """The positions after each word that starts in [a, b) (backbone state i has read words < i)."""
        starts = batch.word_start[row][batch.word_len[row] > 0]  # (N,) first byte of each word
        return ((starts >= a) & (starts < b)).nonzero()[:, 0] + 1

    def encode(self, batch) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """A batch of kind "words" -> word vectors (B, N, d_bb) (zeros at padding words), the encoder's
        states (B, T_e, d_enc) and the ``packed_layout``.

        The encoder is causal inside each word, so byte j's state depends on the word's bytes <= j only
        (the decoder reuses it); word tokens sit right after the last byte and so read the whole word."""
        k, valid = self.n_word_tokens, batch.word_len > 0
        lay = packed_layout(batch, k)
        h = self.encoder(self.enc_embed(lay["ids"]) + self.enc_pos(lay["positions"]), causal=True,
                         segments=lay["segments"], segment_span=self.cfg.max_word_bytes + k)  # (B, T_e, d_enc)
        B, N = valid.shape
        if self.cfg.pooling == "mean":
            summed = h.new_zeros(B, N + 1, h.shape[-1]).scatter_add_(
                1, lay["word_of"][..., None].expand(-1, -1, h.shape[-1]), gather_rows(h, lay["byte_slot"]))
            pooled = summed[:, :N] / batch.word_len.clamp(min=1)[..., None].to(h.dtype)  # (B, N, d_enc)
        elif self.cfg.pooling == "cross_attention":  # one learned query per word over its byte states
            n_heads, d, T_e = self.cfg.encoder.n_heads, h.shape[-1], h.shape[1]
            kv = self.pool_kv(h).view(B, T_e, 2, n_heads, d // n_heads).permute(2, 0, 3, 1, 4)  # 2 x (B, H, T_e, Dh)
            q = self.pool_query.view(1, n_heads, 1, d // n_heads).expand(B, -1, N, -1)  # (B, H, N, Dh)
            own = lay["segments"][:, None, :] == torch.arange(N, device=h.device)[None, :, None]  # (B, N, T_e)
            own[..., -1] |= ~valid  # a padding word reads the spare slot, so no row of the mask is empty
            pooled = F.scaled_dot_product_attention(q, kv[0], kv[1], attn_mask=own[:, None])
            pooled = pooled.transpose(1, 2).reshape(B, N, d)
        else:  # word_token / multi: the k token states side by side
            pooled = gather_rows(h, lay["token_slot"]).flatten(2)  # (B, N, k * d_enc)
        vectors = self.to_backbone(pooled).to(self.bos.dtype)  # float32 even when autocast computes in bf16
        return torch.where(valid[..., None], vectors, 0.0), h, lay

    def forward(self, batch) -> ModelOutput:
        real, B = batch.byte_mask, batch.bytes.shape[0]
        word_vecs, h, lay = self.encode(batch)  # (B, N, d_bb)
        bb_in = torch.cat([self.bos.expand(B, 1, -1), word_vecs[:, :-1]], dim=1)  # position i reads words < i
        states = self.backbone(bb_in, causal=True)  # (B, N, d_bb)

        # decoder slot s reads its word's backbone state, plus the encoder state of its byte
        ctx = with_zero_row(self.to_decoder(states))  # (B, N+1, d_dec)
        byte_in = with_zero_row(self.bytes_to_decoder(gather_rows(h, lay["byte_slot"])))  # (B, W+1, d_dec)
        dec_in = gather_rows(ctx, lay["dec_word"]) + gather_rows(byte_in, lay["dec_byte"])  # (B, T_d, d_dec)
        dec_out = self.decoder(dec_in, causal=True, segments=lay["dec_word"], segment_span=self.cfg.max_word_bytes + 1)
        logp = F.log_softmax(self.head(dec_out).float(), -1)
        lp = logp.gather(-1, lay["targets"][..., None])[..., 0]  # (B, T_d)

        # byte t is predicted by the slot before its own; at a word's first byte, the slot before that
        # predicted the previous word's EOW: it is credited here, the byte that shows the word has ended, so
        # a window (or a document) ending with a word pays no EOW for it: nobody pays for closing a word
        # that may go on beyond the scored text
        own = (lay["dec_slot"] - 1).clamp(min=0)  # (B, W)
        eow = (lay["dec_slot"] - 2).clamp(min=0)
        starts = real & (lay["offset"] == 0)
        closes = starts & (lay["word_of"] >= 1)
        byte_lp = torch.where(real, lp.gather(1, own), 0.0) + torch.where(closes, lp.gather(1, eow), 0.0)
        hits = {}
        if not self.training:  # the first byte of a word also carries the previous word's EOW hit
            hit = logp.argmax(-1) == lay["targets"]  # (B, T_d)
            start_hit = real & hit.gather(1, own)
            byte_hit = start_hit & (~closes | hit.gather(1, eow))
            hits = {"byte_hit": byte_hit | ~real, "start_hit": start_hit}
        return ModelOutput(byte_logprobs=byte_lp, byte_mask=real, boundaries=starts,
                           hidden={"word": word_vecs, "backbone": states}, **hits)

    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch, every word at its own length: the encoder over its bytes
        and word tokens, the decoder over its context slot and bytes (the mask that keeps attention inside
        a word in ``forward`` is computation for speed, not work, and is not counted)."""
        enc, bb, dec, k = self.cfg.encoder, self.cfg.backbone, self.cfg.decoder, self.n_word_tokens
        lengths = batch.word_len[0][batch.word_len[0] > 0]
        total = 0.0
        for length, m in zip(*torch.unique(lengths, return_counts=True)):
            n, m = int(length), int(m)  # m words of n bytes
            total += stack_flops(m * (n + k), n + k, enc.d_model, enc.n_layers)  # encoder
            total += stack_flops(m * (n + 1), n + 1, dec.d_model, dec.n_layers)  # decoder
            total += linear_flops(m * (n + 1), dec.d_model, 257)  # byte + EOW head
            total += linear_flops(m * n, enc.d_model, dec.d_model)  # byte states into the decoder
            if self.cfg.pooling == "cross_attention":  # keys/values, then one query's scores and sum
                total += linear_flops(m * n, enc.d_model, 2 * enc.d_model) + m * 4 * n * enc.d_model
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
        vecs, _, _ = self.encode(batch)  # (B, N, d_bb), zeros after a row's last piece
        valid = batch.word_len > 0  # (B, N): the real pieces form a prefix of each row
        B = valid.shape[0]
        m = valid[..., None].to(vecs.dtype)
        states = self.backbone(torch.cat([self.bos.expand(B, 1, -1), vecs], dim=1), causal=True)  # (B, N+1, d_bb)
        return {"input": (vecs * m).sum(1) / m.sum(1).clamp(min=1),
                "output": states[torch.arange(B), valid.sum(1)]}  # causal: the zeros after it are not read
