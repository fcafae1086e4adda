"""SpaceByte, following Slagle 2024, "SpaceByte: Towards Deleting Tokenization from Large Language
Modeling" (reference implementation: github.com/kjslag/spacebyte).

One byte-level residual stream of width ``encoder.d_model`` (= ``decoder.d_model``) reads
[BOS, x_0, ..., x_{W-2}]; position t predicts byte x_t. Along the stream:

1. encoder: ``encoder.n_layers`` local blocks (causal, sliding window ``attention_window``);
2. backbone: at the *global positions* only, the stream's states are gathered per row, projected to
   ``backbone.d_model``, run through a causal global stack, projected back and added to the stream
   at the same positions;
3. decoder: ``decoder.n_layers`` local blocks, a final norm and a head over the 256 bytes.

Global positions (the reference's "utf8" rule, applied as it does to the *input* sequence): a byte is
space-like unless it is an ASCII letter or digit or a UTF-8 continuation byte (0x80-0xBF); BOS counts
as space-like. Position t is global when its input is space-like and the previous input is not, and
position 0 (input BOS) always is. So the global step runs at the first space-like byte of each run,
after reading it, and its output shapes the predictions of the next word's bytes; the global state
at t depends on inputs <= t only. In window-byte terms: t = 0, or x_{t-1} is space-like and
x_{t-2} is not (never t = 1, whose previous input is BOS). UTF-8 lead bytes are space-like, so in
Cyrillic or CJK text nearly every character starts a global step, as in the paper's rule.
``boundaries`` is True at every global position, t = 0 included (it predicts x_0 from the BOS step).

Departures from the reference:
- no cap on the number of global positions: the global sequence of each row holds all of them, padded
  to the batch's largest count (padding slots come after the real ones, so causal attention hides
  them); the reference caps it at ``global_context_size`` and drops the targets past the cap, while
  here every byte counts;
- linear maps into and out of the global width, where the reference zero-pads the byte state to the
  global width and reads back its last ``d_local`` channels;
- rotary positions in every attention layer (global positions are numbered by slot), where the
  reference adds learned absolute position embeddings to the local and the global streams; the
  global stack ends with its own RMSNorm; untied input embedding and head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from byteword.flops import linear_flops, stack_flops
from byteword.models.layers import Block, Stack, attention_mask, init_weights
from byteword.models.output import ModelOutput, byte_greedy_hits

BYTE_BOS = 256


def is_spacelike(ids: torch.Tensor) -> torch.Tensor:
    """True where an id is neither an ASCII letter or digit nor a UTF-8 continuation byte (BOS = 256 is)."""
    word_like = ((ids >= ord("0")) & (ids <= ord("9"))) | ((ids >= ord("A")) & (ids <= ord("Z")))
    word_like |= ((ids >= ord("a")) & (ids <= ord("z"))) | ((ids >= 0x80) & (ids <= 0xBF))
    return ~word_like


def global_inputs(ids: torch.Tensor) -> torch.Tensor:
    """(..., T) input ids, BOS first -> (..., T) bool: the positions where the global blocks run."""
    spacelike = is_spacelike(ids)
    glob = spacelike.clone()
    glob[..., 1:] &= ~spacelike[..., :-1]  # the first space-like input of each run
    glob[..., 0] = True  # the BOS position
    return glob


def global_positions(x: torch.Tensor, byte_mask: torch.Tensor | None = None) -> torch.Tensor:
    """(..., W) window bytes -> (..., W) bool, True at the positions t (each predicting x_t after reading
    BOS or x_{t-1}) where SpaceByte runs its global blocks; False at padding when ``byte_mask`` is given."""
    ids = torch.cat([torch.full_like(x[..., :1], BYTE_BOS), x[..., :-1]], dim=-1)
    glob = global_inputs(ids)
    return glob & byte_mask if byte_mask is not None else glob


class SpaceByte(nn.Module):
    batch_kind = "bytes"
    PARTS = {"embedding": ("embed.", "head."), "encoder": ("encoder.",),
             "backbone": ("to_global.", "backbone.", "from_global."), "decoder": ("decoder.",)}

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        enc, bb, dec = cfg.encoder, cfg.backbone, cfg.decoder
        d = enc.d_model
        self.embed = nn.Embedding(257, d)  # 256 bytes + BOS
        self.encoder = nn.ModuleList(Block(d, enc.n_heads) for _ in range(enc.n_layers))  # no norm: a stream
        self.to_global = nn.Linear(d, bb.d_model, bias=False)
        self.backbone = Stack(bb.d_model, bb.n_layers, bb.n_heads)
        self.from_global = nn.Linear(bb.d_model, d, bias=False)
        self.decoder = Stack(d, dec.n_layers, dec.n_heads)  # local blocks + final norm
        self.head = nn.Linear(d, 256, bias=False)
        init_weights(self)

    def hidden_states(self, ids: torch.Tensor, real: torch.Tensor):
        """(B, T) input ids (BOS first), (B, T) bool real positions -> final byte states (B, T, d),
        global states (B, G, d_bb) and the global positions (B, T) bool."""
        B, T = ids.shape
        window = self.cfg.attention_window
        mask = attention_mask(T, causal=True, window=window, device=ids.device)
        h = self.embed(ids)  # (B, T, d)
        for block in self.encoder:
            h = block(h, mask, True)

        is_global = global_inputs(ids) & real  # (B, T)
        rows, pos = is_global.nonzero(as_tuple=True)  # (N,) each: row-major, so slots ascend with pos
        slot = is_global.long().cumsum(1)[rows, pos] - 1  # (N,) rank of each global position in its row
        G = int(is_global.sum(1).max()) if len(rows) else 0
        idx = torch.zeros(B, G, dtype=torch.long, device=ids.device)  # padding slots read position 0
        idx[rows, slot] = pos
        g = h.gather(1, idx[..., None].expand(-1, -1, h.shape[-1]))  # (B, G, d)
        g = self.backbone(self.to_global(g), causal=True)  # (B, G, d_bb); padding slots come last
        h = h.index_put((rows, pos), self.from_global(g[rows, slot]).to(h.dtype), accumulate=True)  # (B, T, d)
        return self.decoder(h, causal=True, window=window), g, is_global

    def forward(self, batch) -> ModelOutput:
        x, real = batch.bytes, batch.byte_mask  # (B, W): predict every byte, the first one from BOS
        ids = torch.cat([torch.full_like(x[:, :1], BYTE_BOS), x[:, :-1]], dim=1)
        h, g, is_global = self.hidden_states(ids, real)
        logp = F.log_softmax(self.head(h).float(), dim=-1)  # (B, W, 256)
        lp = logp.gather(-1, x[..., None])[..., 0] * real  # (B, W)
        return ModelOutput(byte_logprobs=lp, byte_mask=real, boundaries=is_global,
                           hidden={"byte": h, "global": g}, **byte_greedy_hits(logp, x, self.training))

    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch: local blocks and head at every position, the projections
        and the global stack at the window's global positions."""
        enc, bb, dec = self.cfg.encoder, self.cfg.backbone, self.cfg.decoder
        T = batch.bytes.shape[1]
        G = int(global_positions(batch.bytes, batch.byte_mask).sum())
        total = stack_flops(T, T, enc.d_model, enc.n_layers + dec.n_layers, self.cfg.attention_window)
        total += 2 * linear_flops(G, enc.d_model, bb.d_model) + stack_flops(G, G, bb.d_model, bb.n_layers)
        return total + linear_flops(T, dec.d_model, 256)

    @torch.no_grad()
    def static_word_vectors(self, batch) -> torch.Tensor:
        """Mean of the final byte-level states over the word's bytes, read after BOS. (B, d)"""
        x, mask = batch.bytes, batch.byte_mask
        ids = torch.cat([torch.full_like(x[:, :1], BYTE_BOS), x], dim=1)  # (B, W+1)
        real = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        h = self.hidden_states(ids, real)[0][:, 1:]  # (B, W, d): the state after reading each byte
        m = mask[..., None].to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1)
