"""H-Net with one stage of dynamic chunking, following "Dynamic Chunking for End-to-End Hierarchical
Sequence Modeling" (Hwang, Wang, Gu 2025):

1. encoder: a causal byte transformer over [BOS, x_0 .. x_{W-2}], so position t has read bytes < t
   and predicts x_t;
2. routing: q_t = W_q h_t, k_t = W_k h_t, boundary probability p_t = (1 - cos(q_t, k_{t-1})) / 2 with
   p_0 = 1 (the BOS position always opens a chunk); a chunk starts where p_t >= 0.5;
3. chunking: the encoder states at boundary positions, in order, form the chunk sequence, which the
   main network (backbone) reads causally;
4. dechunking: an EMA smooths the main network's outputs, z̄_c = P_c z_c + (1 - P_c) z̄_{c-1} with P_c
   the boundary probability of chunk c; byte t takes z̄ of the chunk holding it (latest boundary
   <= t), times its confidence c_t (p_t at a boundary, 1 - p_t elsewhere) through a straight-through
   estimator (forward value 1, gradient of c_t), plus a linear residual of its encoder state;
5. decoder: a causal byte transformer, then a head over the 256 bytes.

Causality: the chunk opened at s is h_s, which has read inputs <= s; the main network's output for
chunk c reads chunks <= c only, whose positions are <= s <= t for every byte t in chunk c; the EMA
runs forward over chunks, and whether t starts a chunk depends on h_t and h_{t-1} only.

The ratio loss (weight ``ratio_loss_weight``, target ``target_chunk_bytes`` = N) is the paper's
L = N/(N-1) * ((N-1) F G + (1-F)(1-G)), with F the fraction of real positions that start a chunk and
G their mean boundary probability; it is 1 at F = G = 1/N, and only G carries a gradient.

Departures: transformer blocks (``layers.Stack``, RoPE over chunk index in the main network) replace
the paper's Mamba-2 layers; widths change through linear projections (encoder -> main, main ->
decoder, and the residual) instead of the paper's learned padding dimensions; the EMA is computed in
closed form as a (chunks x chunks) matrix product instead of a scan kernel, and its boundary
probability is clamped only inside log(1 - P); no per-stage learning-rate modulation. As in the
reference code, W_q and W_k start as identities and the residual projection at zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from byteword.flops import linear_flops, stack_flops
from byteword.models.config import LevelConfig, ModelConfig
from byteword.models.layers import Stack, gather_rows, init_weights, with_closing_space
from byteword.models.output import ModelOutput, byte_greedy_hits
from byteword.models.protocol import LanguageModel

BYTE_BOS = 256


def straight_through(c: torch.Tensor) -> torch.Tensor:
    """Exactly 1 in the forward pass (c - c is 0), gradient of c in the backward pass."""
    return 1.0 + (c - c.detach())


def ema_over_chunks(z: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """z̄_c = P_c z_c + (1 - P_c) z̄_{c-1}, in closed form: z̄_c = sum_{j<=c} P_j prod_{j<i<=c} (1 - P_i) z_j.

    z: (B, C, d) chunk states; P: (B, C) boundary probabilities (P_0 = 1 starts each row afresh; padded
    chunks come last with P = 0, so they never reach a real chunk). Returns (B, C, d)."""
    C = z.shape[1]
    log_keep = torch.log1p(-P.double().clamp(max=1 - 1e-6))  # (B, C) log(1 - P_i)
    S = log_keep.cumsum(1)  # (B, C); in float64 so that differences of long sums stay exact
    causal = torch.ones(C, C, dtype=torch.bool, device=z.device).tril()  # [c, j]: j <= c
    decay = (S[:, :, None] - S[:, None, :]).masked_fill(~causal, float("-inf"))  # (B, C, C) sum_{j<i<=c}
    weights = decay.exp().to(z.dtype) * P[:, None, :]  # (B, C, C)
    return weights @ z


def chunks(h: torch.Tensor, p: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, T, d) encoder states, (B, T) boundary probabilities and (B, T) bool boundaries -> the chunk
    holding each position (B, T) (its latest boundary), the chunk states z (B, C, d) (the encoder state at
    each boundary, in order; padded chunks last, zero) and each chunk's boundary probability P (B, C)."""
    chunk_of = (b.long().cumsum(1) - 1).clamp(min=0)  # (B, T)
    C = int(b.sum(1).max().clamp(min=1))
    torch._check(C >= 1)  # for the compiler, which cannot see either from a data-dependent count
    torch._check(C <= b.shape[1])
    if torch.compiler.is_compiling():
        # one zero chunk more (last, P = 0: it reaches no real chunk), so that the compiled backward never has
        # to ask whether the count is 1 (a broadcast it cannot decide); eager passes keep exactly C
        C = C + 1
        torch._check(C >= 2)
    to = torch.where(b, chunk_of, C)  # positions inside a chunk write to a spare chunk C, then dropped
    z = h.new_zeros(h.shape[0], C + 1, h.shape[-1]).scatter(1, to[..., None].expand(-1, -1, h.shape[-1]), h)
    P = p.new_zeros(p.shape[0], C + 1).scatter(1, to, p)
    return chunk_of, z[:, :C], P[:, :C]


def fixed_rate_boundaries(p: torch.Tensor, mask: torch.Tensor, chunk_bytes: float) -> torch.Tensor:
    """(B, T) boundary probabilities and real positions -> (B, T) bool: each row's ceil(n / chunk_bytes)
    positions of highest p (n its real positions; position 0, p = 1, first among ties), for timing a model
    at a set chunk length. Not causal (a row's ranking reads all of it): never used to score."""
    quota = torch.ceil(mask.sum(1) / chunk_bytes)  # (B,)
    order = torch.where(mask, p, -1.0).argsort(dim=1, descending=True, stable=True)
    rank = order.argsort(dim=1)  # (B, T): 0 for the highest p of the row
    return (rank < quota[:, None]) & mask


@dataclass(frozen=True, kw_only=True)
class HNetConfig(ModelConfig):
    encoder: LevelConfig
    decoder: LevelConfig
    attention_window: int | None = None  # sliding window of the byte-level (local) layers, in positions
    target_chunk_bytes: float = 4.0  # the mean chunk length the ratio loss steers toward
    ratio_loss_weight: float = 0.03  # weight of the ratio loss

    family: ClassVar[str] = "hnet"

    def describe(self) -> str:
        return f"target {self.target_chunk_bytes:g} bytes/chunk"

    @property
    def target_bytes_per_chunk(self) -> float:
        return self.target_chunk_bytes


class HNet(LanguageModel):
    Config = HNetConfig
    learns_its_rate = True
    PARTS = {"embedding": ("embed.", "head."), "encoder": ("encoder.", "router_q.", "router_k."),
             "backbone": ("to_main.", "main.", "from_main."), "decoder": ("residual.", "decoder.")}

    def __init__(self, cfg: HNetConfig):
        super().__init__(cfg)
        enc, bb, dec = cfg.encoder, cfg.backbone, cfg.decoder
        # registered (and so initialised) encoder first: the boundaries drawn at initialisation do not
        # depend on the sizes of the later levels, which compute matching varies
        self.embed = nn.Embedding(257, enc.d_model)  # 256 bytes + BOS
        self.encoder = Stack(enc.d_model, enc.n_layers, enc.n_heads)
        self.router_q = nn.Linear(enc.d_model, enc.d_model, bias=False)
        self.router_k = nn.Linear(enc.d_model, enc.d_model, bias=False)
        self.residual = nn.Linear(enc.d_model, dec.d_model, bias=False)
        self.to_main = nn.Linear(enc.d_model, bb.d_model, bias=False)
        self.main = Stack(bb.d_model, bb.n_layers, bb.n_heads)
        self.from_main = nn.Linear(bb.d_model, dec.d_model, bias=False)
        self.decoder = Stack(dec.d_model, dec.n_layers, dec.n_heads)
        self.head = nn.Linear(dec.d_model, 256, bias=False)
        init_weights(self)
        with torch.no_grad():
            self.router_q.weight.copy_(torch.eye(enc.d_model))
            self.router_k.weight.copy_(torch.eye(enc.d_model))
            self.residual.weight.zero_()

    def route(self, ids: torch.Tensor, mask: torch.Tensor):
        """(B, T) input ids and real-position mask -> encoder states (B, T, d_enc), boundary
        probabilities p (B, T) (0 at padding) and boundaries b (B, T) bool (False at padding)."""
        h = self.encoder(self.embed(ids), causal=True, window=self.cfg.attention_window)
        q = F.normalize(self.router_q(h[:, 1:]), dim=-1)  # (B, T-1, d): q_t for t >= 1
        k = F.normalize(self.router_k(h[:, :-1]), dim=-1)  # (B, T-1, d): k_{t-1}
        p = ((1 - (q * k).sum(-1)) / 2).clamp(0, 1)  # (B, T-1)
        p = torch.cat([torch.ones_like(p[:, :1]), p], dim=1) * mask  # (B, T), p_0 = 1
        if self.fixed_chunk_bytes:
            return h, p, fixed_rate_boundaries(p, mask, self.fixed_chunk_bytes)
        return h, p, (p >= 0.5) & mask

    def byte_states(self, ids: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T) input ids (BOS first), (B, T) real positions -> decoder states and the routing."""
        h, p, b = self.route(ids, mask)
        chunk_of, z, P = chunks(h, p, b)
        u = self.main(self.to_main(z), causal=True)  # (B, C, d_bb): chunk c has read chunks <= c
        z_bar = ema_over_chunks(self.from_main(u), P)  # (B, C, d_dec)
        up = gather_rows(z_bar, chunk_of)  # (B, T, d_dec)
        confidence = torch.where(b, p, 1 - p)  # (B, T)
        x = up * straight_through(confidence)[..., None] + self.residual(h)
        y = self.decoder(x, causal=True, window=self.cfg.attention_window)  # (B, T, d_dec)
        return {"byte": y, "encoder": h, "chunk": u, "boundary_prob": p, "boundaries": b}

    def ratio_loss(self, p: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """N/(N-1) * ((N-1) F G + (1-F)(1-G)) over the real positions of the batch; 1 at F = G = 1/N."""
        N, n = self.cfg.target_chunk_bytes, mask.sum().clamp(min=1)
        frac = (b & mask).sum() / n  # F: fraction of positions that start a chunk (no gradient)
        mean_p = (p * mask).sum() / n  # G: mean boundary probability
        return N / (N - 1) * ((N - 1) * frac * mean_p + (1 - frac) * (1 - mean_p))

    def forward(self, batch) -> ModelOutput:
        x, mask = batch.bytes, batch.byte_mask  # (B, W): predict every byte, the first one from BOS
        ids = torch.cat([torch.full_like(x[:, :1], BYTE_BOS), x[:, :-1]], dim=1)
        s = self.byte_states(ids, mask)
        logp = F.log_softmax(self.head(s["byte"]).float(), dim=-1)  # (B, W, 256)
        lp = logp.gather(-1, x[..., None])[..., 0] * mask  # (B, W)
        aux = self.cfg.ratio_loss_weight * self.ratio_loss(s["boundary_prob"], s["boundaries"], mask)
        return ModelOutput(byte_logprobs=lp, byte_mask=mask, boundaries=s["boundaries"], aux_loss=aux,
                           hidden={k: s[k] for k in ("byte", "encoder", "chunk", "boundary_prob")},
                           **byte_greedy_hits(logp, x, self.training))

    # Sizing counts FLOPs at target_chunk_bytes (``planned_chunk_bytes``: an untrained router draws far fewer
    # chunks than it will once trained); the benchmark opens each row's chunks at its most likely boundaries
    # at that rate (``fixed_chunk_bytes``, ``fixed_rate_boundaries``).

    @torch.no_grad()
    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch, with as many chunks as the router really draws on it
        (or as ``planned_chunk_bytes`` implies, when set)."""
        enc, bb, dec, window = self.cfg.encoder, self.cfg.backbone, self.cfg.decoder, self.cfg.attention_window
        x = batch.bytes
        T = x.shape[1]
        ids = torch.cat([torch.full_like(x[:, :1], BYTE_BOS), x[:, :-1]], dim=1)
        if self.planned_chunk_bytes:  # chunks at the planned length, not the ones drawn now
            C = max(round(int(batch.byte_mask.sum()) / self.planned_chunk_bytes), 1)
        else:
            C = int(self.route(ids, batch.byte_mask)[2].sum())
        total = stack_flops(T, T, enc.d_model, enc.n_layers, window)  # encoder
        total += 2 * linear_flops(T - 1, enc.d_model, enc.d_model)  # W_q, W_k
        total += linear_flops(C, enc.d_model, bb.d_model) + stack_flops(C, C, bb.d_model, bb.n_layers)  # main
        total += linear_flops(C, bb.d_model, dec.d_model) + 2 * C * C * dec.d_model  # out of main, EMA matrix
        total += linear_flops(T, enc.d_model, dec.d_model)  # residual
        total += stack_flops(T, T, dec.d_model, dec.n_layers, window) + linear_flops(T, dec.d_model, 256)
        return total

    @torch.no_grad()
    def word_readings(self, batch) -> dict[str, torch.Tensor]:
        """The two readings of a word, for a batch whose windows each hold one word " word" (n bytes).

        The encoder reads [BOS, " word", " "] (positions 0..n+1; position t has read BOS and the bytes
        before t), with one space appended as SpaceByte reads a word: the chunk the router opens at the
        closing space is the first whose state has read the whole word. The word's chunks are those opened
        at positions 1..n+1, while the model reads " word" and the space that closes it (a departure from
        "inside the word" alone, so that a router that cuts at spaces reads a word where SpaceByte does).

        - ``input`` (B, d_bb): what the main network receives for the word, the encoder states at the
          word's chunk boundaries projected into the main width, their mean when there are several;
        - ``output`` (B, d_bb): the main network's output for the last chunk, the one holding position n+1,
          which has read the word's last byte whenever the router cut at n or n+1.

        Subtle cases: a chunk opened at position 1 has read only BOS and the leading space, the same for
        every word, and still counts in the input mean (the main network receives it); where the router
        draws no boundary in 1..n+1 (rare once trained, common untrained, when boundaries are few), both
        readings fall back to BOS's chunk, which has read none of the word: the main network has not
        received the word by then."""
        ids, real = with_closing_space(batch, BYTE_BOS)  # (B, n+2) each
        h, p, b = self.route(ids, real)
        chunk_of, z, _ = chunks(h, p, b)
        z_main = self.to_main(z)  # (B, C, d_bb): the main network's inputs
        u = self.main(z_main, causal=True)  # (B, C, d_bb): chunk c has read chunks <= c
        rows = torch.arange(len(ids), device=ids.device)
        last = chunk_of[rows, real.sum(1) - 1]  # (B,) the chunk holding position n+1
        slot = torch.arange(z.shape[1], device=ids.device)[None, :]  # (1, C); chunk 0 is BOS's
        in_word = ((slot >= 1) & (slot <= last[:, None])) | (slot == last[:, None])  # (B, C): 1..last, or 0
        m = in_word[..., None].to(z_main.dtype)
        return {"input": (z_main * m).sum(1) / m.sum(1), "output": u[rows, last]}
