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

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from byteword.flops import linear_flops, stack_flops
from byteword.models.config import ConfigError, LevelConfig, ModelConfig
from byteword.models.layers import Block, Stack, attention_mask, gather_rows, init_weights, with_closing_space
from byteword.models.output import ModelOutput, byte_greedy_hits
from byteword.models.protocol import LanguageModel

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


@dataclass(frozen=True, kw_only=True)
class SpaceByteConfig(ModelConfig):
    encoder: LevelConfig
    decoder: LevelConfig
    attention_window: int | None = None  # sliding window of the byte-level (local) layers, in positions

    family: ClassVar[str] = "spacebyte"

    def check(self) -> None:
        if self.encoder.d_model != self.decoder.d_model:
            raise ConfigError(f"model '{self.name}': the encoder and decoder share one byte stream, so their "
                              f"d_model must be equal ({self.encoder.d_model} != {self.decoder.d_model})")

    def describe(self) -> str:
        return "spaces" + (f", window {self.attention_window}" if self.attention_window else "")


class SpaceByte(LanguageModel):
    Config = SpaceByteConfig
    PARTS = {"embedding": ("embed.", "head."), "encoder": ("encoder.",),
             "backbone": ("to_global.", "backbone.", "from_global."), "decoder": ("decoder.",)}

    def __init__(self, cfg: SpaceByteConfig):
        super().__init__(cfg)
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

    def global_stack(self, ids: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T) input ids (BOS first), (B, T) bool real positions -> the byte stream after the encoder
        ``h`` (B, T, d), the global positions ``is_global`` (B, T) bool, each position's ``slot`` (B, T)
        (the rank of its row's latest global position, so a global position's own slot), the global
        stack's inputs ``g_in`` (B, G, d_bb) and its outputs ``g`` (B, G, d_bb); padding slots come last
        and read position 0. No tensor has a data-dependent shape but the G of the global sequence."""
        B, T = ids.shape
        mask = attention_mask(T, causal=True, window=self.cfg.attention_window, device=ids.device)
        h = self.embed(ids)  # (B, T, d)
        for block in self.encoder:
            h = block(h, mask, True)
        is_global = global_inputs(ids) & real  # (B, T)
        slot = (is_global.long().cumsum(1) - 1).clamp(min=0)  # (B, T)
        G = int(is_global.sum(1).max().clamp(min=1))  # BOS is global in every row with a real position
        torch._check(G >= 1)  # for the compiler, which cannot see either from a data-dependent count
        torch._check(G <= T)
        # the position of each slot; positions that are not global write to a spare slot G, then dropped
        where = torch.arange(T, device=ids.device).expand(B, T)
        idx = torch.zeros(B, G + 1, dtype=torch.long, device=ids.device)
        idx = idx.scatter(1, torch.where(is_global, slot, G), where)[:, :G]
        g_in = self.to_global(gather_rows(h, idx))  # (B, G, d_bb)
        return {"h": h, "is_global": is_global, "slot": slot, "g_in": g_in, "g": self.backbone(g_in, causal=True)}

    def hidden_states(self, ids: torch.Tensor, real: torch.Tensor):
        """(B, T) input ids (BOS first), (B, T) bool real positions -> final byte states (B, T, d),
        global states (B, G, d_bb) and the global positions (B, T) bool."""
        s = self.global_stack(ids, real)
        back = self.from_global(s["g"]).to(s["h"].dtype)  # (B, G, d)
        at = gather_rows(back, s["slot"])  # (B, T, d): latest slot's
        h = s["h"] + torch.where(s["is_global"][..., None], at, 0.0)  # added at the global positions only
        return self.decoder(h, causal=True, window=self.cfg.attention_window), s["g"], s["is_global"]

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
    def word_readings(self, batch) -> dict[str, torch.Tensor]:
        """The two readings of a word, for a batch whose windows each hold one word " word" (n bytes).

        The stream reads [BOS, " word", " "]: one space is appended because SpaceByte's global step for a
        word runs at the space-like byte after it (the first position whose state has read the word's last
        letter), and a lone word has none of its own. Global positions of the word: every one after BOS's
        (position 1 never is: its input, the leading space, follows BOS, which is space-like).

        - ``input`` (B, d_bb): what the global stack receives for the word, the stream's state at the word's
          global positions projected into the global width; the mean over them when there are several
          (" don't" has one at the apostrophe and one at the appended space);
        - ``output`` (B, d_bb): the global stack's output at the last of them, the first global position
          after the word when the word ends in a letter or digit. The global stack is causal over slots and
          the stream over bytes, so it has read the word and nothing after the appended space.

        Subtle cases: a word ending in a run of punctuation (" ok!!") gets its last global step at the run's
        first byte, which has not read the rest of the run; a word with no letter or digit at all (" ...")
        has no global position but BOS's, so both readings are BOS's slot, which has read none of the word
        (the global stack never sees such a word on its own)."""
        ids, real = with_closing_space(batch, BYTE_BOS)  # (B, n+2) each
        s = self.global_stack(ids, real)
        last = s["is_global"].sum(1) - 1  # (B,) the row's last slot; slot 0 is BOS's
        slot = torch.arange(s["g"].shape[1], device=ids.device)[None, :]  # (1, G)
        in_word = ((slot >= 1) & (slot <= last[:, None])) | ((last[:, None] == 0) & (slot == 0))  # (B, G)
        m = in_word[..., None].to(s["g_in"].dtype)
        rows = torch.arange(len(last), device=ids.device)
        return {"input": (s["g_in"] * m).sum(1) / m.sum(1), "output": s["g"][rows, last]}
