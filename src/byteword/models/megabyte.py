"""Fixed-patch byte language model, following MEGABYTE ("MEGABYTE: Predicting Million-byte Sequences
with Multiscale Transformers", Yu et al. 2023): the non-linguistic control of the zoo, whose units are
patches of exactly ``patch_size`` (P) bytes whatever the text says.

1. patch embedding: the bytes of a patch, each embedded at the local width, are concatenated
   (P * d_dec) and projected to the global width;
2. global model (``backbone``): a causal transformer over patches; its input for patch k is the
   embedding of patch k-1 (a learned start vector for patch 0), so its output for patch k has read
   the bytes of patches < k only;
3. local model (``decoder``): a small causal byte transformer run on each patch alone; position j of
   patch k gets its own slice of the global output for patch k (the output is projected to P slices
   of the local width, slice j for position j) added to the embedding of byte j-1 of the same patch
   (a BOS id at j = 0), and a head predicts byte j over 256 values.

So byte j of patch k is predicted from all bytes of patches < k and bytes < j of patch k. A window is
padded with zero bytes to whole patches; that padding is the family's own (computed and counted in
FLOPs) but never scored. ``boundaries`` marks the first byte of every patch.

Departures from the paper: the patch embedding concatenates P byte embeddings of the local width and
projects them to the global width (the paper concatenates P embeddings of width D_G/P with no
projection, so it ties D_G to P); likewise the global output is projected to P * d_dec and cut into
P slices, one per local position (the paper's global state is P slices wide already, and each slice
goes through one shared projection), so compute matching may give the global model any width;
patch 0 reads one learned start vector rather than an embedded padding patch; and positions are
rotary in both models (the paper adds learned absolute byte positions to the global embeddings).
``global_input: false`` is an ablation: the local model gets no global slice, so each patch is
predicted from its own earlier bytes alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from byteword.flops import linear_flops, stack_flops
from byteword.models.config import LevelConfig, ModelConfig
from byteword.models.layers import Stack, init_weights
from byteword.models.output import ModelOutput, byte_greedy_hits
from byteword.models.protocol import LanguageModel

BYTE_BOS = 256  # local input at the first position of every patch


@dataclass(frozen=True, kw_only=True)
class MegabyteConfig(ModelConfig):
    decoder: LevelConfig
    patch_size: int = 8  # bytes per patch
    global_input: bool = True  # false: ablation, the local model reads no global slice

    family: ClassVar[str] = "megabyte"

    def describe(self) -> str:
        return f"patch {self.patch_size}" + ("" if self.global_input else ", no global input")


class Megabyte(LanguageModel):
    Config = MegabyteConfig
    PARTS = {"embedding": ("global_embed.", "local_embed.", "head."), "encoder": ("patch_proj.",),
             "backbone": ("global_bos", "global_model."), "decoder": ("to_local.", "local_model.")}

    def __init__(self, cfg: MegabyteConfig):
        super().__init__(cfg)
        self.patch_size = P = cfg.patch_size
        bb, dec = cfg.backbone, cfg.decoder
        self.global_embed = nn.Embedding(256, dec.d_model)  # bytes as read by the global model
        self.patch_proj = nn.Linear(P * dec.d_model, bb.d_model, bias=False)
        self.global_bos = nn.Parameter(torch.zeros(bb.d_model))  # global input of patch 0
        self.global_model = Stack(bb.d_model, bb.n_layers, bb.n_heads)
        if cfg.global_input:
            self.to_local = nn.Linear(bb.d_model, P * dec.d_model, bias=False)  # one slice per local position
        self.local_embed = nn.Embedding(257, dec.d_model)  # 256 bytes + BOS
        self.local_model = Stack(dec.d_model, dec.n_layers, dec.n_heads)
        self.head = nn.Linear(dec.d_model, 256, bias=False)
        init_weights(self)
        nn.init.normal_(self.global_bos, std=0.02)

    def n_patches(self, length: int) -> int:
        return -(-length // self.patch_size)  # ceil: a partial last patch is padded to P bytes

    def patch_embeddings(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, K, P) bytes -> (B, K, d_bb): each patch's P byte embeddings side by side, projected."""
        return self.patch_proj(self.global_embed(patches).flatten(2))

    def global_states(self, emb: torch.Tensor) -> torch.Tensor:
        """(B, K-1, d_bb) embeddings of patches 0..K-2 -> (B, K, d_bb) global states: the start vector, then
        the patches, through the causal global model, so state k has read patches < k."""
        g_in = torch.cat([self.global_bos.expand(len(emb), 1, -1), emb], dim=1)  # (B, K, d_bb)
        return self.global_model(g_in, causal=True)

    def hidden_states(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, W) bytes -> local states (B, K*P, d_dec), position t having read bytes < t, and global
        states (B, K, d_bb), patch k having read patches < k. The window is zero-padded to K whole patches."""
        B, W = x.shape
        P, K = self.patch_size, self.n_patches(W)
        patches = F.pad(x, (0, K * P - W)).view(B, K, P)  # (B, K, P)
        g = self.global_states(self.patch_embeddings(patches[:, :-1]))  # (B, K, d_bb): patch k's input is patch k-1
        prev = torch.cat([torch.full_like(patches[..., :1], BYTE_BOS), patches[..., :-1]], dim=-1)  # (B, K, P)
        l_in = self.local_embed(prev)  # (B, K, P, d_dec)
        if self.cfg.global_input:  # position j of patch k adds slice j of patch k's projected global state
            l_in = l_in + self.to_local(g).view(B, K, P, -1)
        h = self.local_model(l_in.flatten(0, 1), causal=True)  # (B*K, P, d_dec): each patch alone
        return h.reshape(B, K * P, -1), g

    def forward(self, batch) -> ModelOutput:
        x, mask = batch.bytes, batch.byte_mask  # (B, W)
        W = x.shape[1]
        h, g = self.hidden_states(x)
        logp = F.log_softmax(self.head(h).float(), dim=-1)[:, :W]  # (B, W, 256); padded patch tail dropped
        byte_lp = logp.gather(-1, x[..., None])[..., 0] * mask  # (B, W)
        pos = torch.arange(W, device=x.device)
        boundaries = (pos % self.patch_size == 0)[None, :] & mask  # (B, W)
        return ModelOutput(byte_logprobs=byte_lp, byte_mask=mask, boundaries=boundaries,
                           hidden={"byte": h[:, :W], "global": g}, **byte_greedy_hits(logp, x, self.training))

    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch: K = ceil(W / P) patches, all computed in full."""
        bb, dec, P = self.cfg.backbone, self.cfg.decoder, self.patch_size
        K = self.n_patches(batch.bytes.shape[1])
        return (linear_flops(K - 1, P * dec.d_model, bb.d_model)  # patch embeddings (the last is never read)
                + stack_flops(K, K, bb.d_model, bb.n_layers)  # global model
                + (linear_flops(K, bb.d_model, P * dec.d_model) if self.cfg.global_input else 0)  # P slices
                + stack_flops(K * P, P, dec.d_model, dec.n_layers)  # local model, one patch at a time
                + linear_flops(K * P, dec.d_model, 256))  # byte head

    @torch.no_grad()
    def word_readings(self, batch) -> dict[str, torch.Tensor]:
        """The two readings of a word, for a batch whose windows each hold one word " word" (n bytes). The
        word starts a window, so it fills k = ceil(n / P) patches; the last one's free places hold spaces,
        as if the word were followed by spaces (zero bytes, the family's window padding, never reach the
        global model in training: a window's last patch is never a global input).

        - ``input`` (B, d_bb): the global model's input for the word, the patch embeddings of its k patches,
          their mean when the word spans several;
        - ``output`` (B, d_bb): the global model's output for patch k, the patch after the word's last
          byte: it has read patches < k, all of the word (and its filler spaces) and nothing after it.

        Subtle case: a patch is a fixed byte span, not a word, so a long word is read through several patch
        embeddings, and the filler spaces take part in the last one."""
        x, mask = batch.bytes, batch.byte_mask  # (B, W)
        P, B, W = self.patch_size, *x.shape
        k = (mask.sum(1) + P - 1) // P  # (B,) patches each word fills
        K = self.n_patches(W)
        filled = F.pad(torch.where(mask, x, ord(" ")), (0, K * P - W), value=ord(" "))  # (B, K*P)
        emb = self.patch_embeddings(filled.view(B, K, P))  # (B, K, d_bb)
        g = self.global_states(emb)  # (B, K+1, d_bb): state j has read patches < j
        m = (torch.arange(K, device=x.device)[None, :] < k[:, None])[..., None].to(emb.dtype)  # (B, K, 1)
        return {"input": (emb * m).sum(1) / m.sum(1), "output": g[torch.arange(B), k]}
