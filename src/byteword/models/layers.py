"""Shared building blocks: RMSNorm, rotary attention over torch SDPA (causal, windowed or
bidirectional with padding; local masks in blocks), MLP and a pre-norm transformer block. Every family is
built from these; ``with_closing_space`` is the one-word input of the families that read a word once it
has ended."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


class RMSNorm(nn.Module):
    def __init__(self, d_model: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def gather_rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(B, T, d) states, (B, ...) slot indices -> (B, ..., d) the states at those slots."""
    flat = index.flatten(1)
    return x.gather(1, flat[..., None].expand(-1, -1, x.shape[-1])).view(*index.shape, x.shape[-1])


def with_zero_row(x: torch.Tensor) -> torch.Tensor:
    """(B, T, d) -> (B, T+1, d): a row of zeros after the last, for indices that point at nothing."""
    return torch.cat([x, x.new_zeros(x.shape[0], 1, x.shape[-1])], dim=1)


_ROTATIONS: dict = {}  # (Dh, device, base) -> rotations for the longest T asked so far (rows do not depend on T)


def rotations(T: int, Dh: int, device, base: float = 10000.0) -> torch.Tensor:
    """(T, Dh/2) complex64 e^(i·t·base^(-2j/Dh)): position t turns channel pair j by that angle. One table
    per width and device, grown to the longest sequence seen and sliced, rather than recomputed by every
    layer of every step (sequence lengths vary from batch to batch: words, chunks, windows); compiled,
    computed in the graph (T may be a symbolic size there, such as SpaceByte's count of global positions)."""
    key = (Dh, str(device), base)
    cached = None if torch.compiler.is_compiling() else _ROTATIONS.get(key)
    if cached is not None and cached.shape[0] >= T:
        return cached[:T]
    freqs = base ** (-torch.arange(0, Dh, 2, device=device, dtype=torch.float32) / Dh)  # (Dh/2,)
    angles = torch.arange(T, device=device, dtype=torch.float32)[:, None] * freqs  # (T, Dh/2)
    rotation = torch.polar(torch.ones_like(angles), angles)
    if not torch.compiler.is_compiling():
        _ROTATIONS[key] = rotation
    return rotation


def rotary(x: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding on (..., T, Dh): position t rotates channel pairs (2j, 2j+1) by
    t * base^(-2j/Dh).

    In float32 on a CPU the pairs are complex numbers and one complex product turns them all: eager, a
    fifth of the time of the real form below (fwd + bwd, at the demo's shapes); compiled too, though
    inductor leaves the product to eager kernels, because the gradient of the real form's strided
    slices compiles into a slow kernel (one training step, one thread, demo shape: HAT 66 → 57 ms, the
    byte transformer 56 → 52). In half precision, or on a GPU, the real form, which needs no float32
    copy and which inductor fuses into one kernel there."""
    T, Dh = x.shape[-2], x.shape[-1]
    if x.dtype == torch.float32 and x.device.type == "cpu":
        if torch.compiler.is_compiling():  # a strided view of a size drawn from the data confuses the tracer
            x = x.contiguous()
        turned = torch.view_as_complex(x.unflatten(-1, (Dh // 2, 2))) * rotations(T, Dh, x.device, base)
        return torch.view_as_real(turned).flatten(-2)
    rot = rotations(T, Dh, x.device, base)
    cos, sin = rot.real.to(x.dtype), rot.imag.to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


@dataclass(frozen=True)
class LocalBlocks:
    """A causal mask in which no query reaches more than ``block`` positions back, kept in blocks: the
    queries in blocks of ``block`` positions, each block attending to its own keys and the previous block's.
    ``allowed`` is (B or 1, 1, n_blocks, block, 2·block) bool, True = may attend; key j of block b is
    position (b-1)·block + j. A row of T positions then costs T·2·block scores instead of T·T."""
    allowed: torch.Tensor
    block: int


BLOCKS_FROM = 8  # rows at least this many blocks long attend in blocks (keys per query: 2 blocks, not T)


def attention_mask(T: int, *, causal: bool, window: int | None = None, key_padding: torch.Tensor | None = None,
                   segments: torch.Tensor | None = None, segment_span: int | None = None,
                   device=None) -> torch.Tensor | LocalBlocks | None:
    """Boolean mask (True = may attend) broadcastable to (B, H, T, T), ``LocalBlocks`` for a long row whose
    mask is local, or None for plain full attention.

    key_padding: (B, T) True where the key is a real position. segments: (B, T) ids; a position attends
    only to positions of its own segment (several short sequences laid end to end in one row), and
    ``segment_span``, when given, bounds the length of every segment whose outputs are used. A window at
    least T long is no window. A causal mask with no window, padding or segments returns None so SDPA
    can take its fused causal path."""
    if window is not None and window >= T:
        window = None
    if causal and window is None and key_padding is None and segments is None:
        return None
    spans = [r for r in (window, segment_span if segments is not None else None) if r is not None]
    block = max(min(spans) - 1, 1) if spans else None  # the farthest any query reaches back
    if causal and key_padding is None and block is not None and T >= BLOCKS_FROM * block:
        return local_blocks(T, block, window, segments, device)
    q = torch.arange(T, device=device)[:, None]
    k = torch.arange(T, device=device)[None, :]
    mask = torch.ones(T, T, dtype=torch.bool, device=device)
    if causal:
        mask &= k <= q
    if window is not None:
        mask &= (q - k) < window  # each query sees itself and the window-1 positions before it
    mask = mask[None, None]  # (1, 1, T, T)
    if key_padding is not None:
        mask = mask & key_padding[:, None, None, :]  # (B, 1, T, T)
    if segments is not None:
        mask = mask & (segments[:, None, :, None] == segments[:, None, None, :])  # (B, 1, T, T)
    return mask


def local_blocks(T: int, block: int, window: int | None, segments: torch.Tensor | None, device) -> LocalBlocks:
    """The causal ``LocalBlocks`` of a row of T positions (padded to whole blocks) in which no query reaches
    more than ``block`` positions back, by the window or by the segments."""
    n = -(-T // block)
    q = torch.arange(n * block, device=device).view(n, block, 1)  # query positions
    k = (torch.arange(n, device=device)[:, None, None] - 1) * block + torch.arange(2 * block, device=device)
    allowed = (k >= 0) & (k <= q)  # (n, block, 2·block)
    if window is not None:
        allowed &= (q - k) < window
    allowed = allowed[None]
    if segments is not None:
        seg = F.pad(segments, (block, n * block - T), value=-1)  # (B, (n+1)·block): none before and after
        own = seg[:, block:].view(-1, n, block, 1)
        keys = torch.cat([seg[:, :-block].view(-1, n, block), seg[:, block:].view(-1, n, block)], dim=-1)
        allowed = allowed & (own == keys[:, :, None, :])  # (B, n, block, 2·block)
    # every query sees itself: the padding past T too, so that no row of scores is empty (NaN gradients)
    return LocalBlocks((allowed | (k == q))[:, None], block)  # (B or 1, 1, n, block, 2·block)


def local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: LocalBlocks,
                    fused: bool | None = None) -> torch.Tensor:
    """Attention of (B, H, T, Dh) queries, keys and values under ``LocalBlocks`` -> (B, H, T, Dh).

    ``fused`` (default: everywhere but on a CPU) runs SDPA over the blocks, laid out as (B·n, H, block, Dh)
    so that one mask per block serves every head. On a CPU the scores of each block are plain products:
    at blocks of a few dozen positions the fused kernel's overhead per block outweighs what it saves (HAT's
    byte levels at the demo's shape, one thread, forward and backward per layer: 4.3 ms, against 6.8 ms
    for the fused kernel over the same blocks and 8.4 ms over the whole row)."""
    B, H, T, Dh = q.shape
    L, n = mask.block, mask.allowed.shape[2]
    pad = n * L - T
    qb = F.pad(q, (0, 0, 0, pad)).view(B, H, n, L, Dh)

    def two_blocks(x):  # (B, H, T, Dh) -> (B, H, n, 2L, Dh): block b's keys are blocks b-1 and b
        xb = F.pad(x, (0, 0, L, pad)).view(B, H, n + 1, L, Dh)
        return torch.cat([xb[:, :, :-1], xb[:, :, 1:]], dim=3)

    kb, vb = two_blocks(k), two_blocks(v)
    if fused is None:
        fused = q.device.type != "cpu"
    if not fused:
        scores = (qb @ kb.transpose(-1, -2)) * Dh ** -0.5  # (B, H, n, L, 2L)
        y = scores.masked_fill(~mask.allowed, float("-inf")).softmax(-1) @ vb
        return y.reshape(B, H, n * L, Dh)[:, :, :T]
    by_block = lambda x: x.transpose(1, 2).flatten(0, 1)  # noqa: E731 - (B, H, n, ·, Dh) -> (B·n, H, ·, Dh)
    allowed = mask.allowed.expand(B, 1, n, L, 2 * L).transpose(1, 2).flatten(0, 1)  # (B·n, 1, L, 2L)
    y = F.scaled_dot_product_attention(by_block(qb), by_block(kb), by_block(vb), attn_mask=allowed)
    return y.view(B, n, H, L, Dh).transpose(1, 2).reshape(B, H, n * L, Dh)[:, :, :T]


class Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        if d_model % n_heads or (d_model // n_heads) % 2:
            raise ValueError(f"d_model={d_model} must split into n_heads={n_heads} heads of even size")
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, causal: bool) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, Dh)
        q, k = rotary(q), rotary(k)
        if isinstance(mask, LocalBlocks):
            y = local_attention(q, k, v, mask)
        elif mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(B, T, D))


class MLP(nn.Module):
    def __init__(self, d_model: int, expansion: int = 4):
        super().__init__()
        self.up = nn.Linear(d_model, expansion * d_model, bias=False)
        self.down = nn.Linear(expansion * d_model, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.norm1, self.norm2 = RMSNorm(d_model), RMSNorm(d_model)
        self.attn = Attention(d_model, n_heads)
        self.mlp = MLP(d_model)
        # activation checkpointing: keep only the block's input in training and recompute the rest in
        # backward (less memory for one more forward); set by the training loop, off by default
        self.checkpointing = False

    def forward(self, x, mask, causal):
        if self.checkpointing and self.training and torch.is_grad_enabled():
            return checkpoint(self._forward, x, mask, causal, use_reentrant=False)
        return self._forward(x, mask, causal)

    def _forward(self, x, mask, causal):
        x = x + self.attn(self.norm1(x), mask, causal)
        return x + self.mlp(self.norm2(x))


class Stack(nn.Module):
    """n_layers blocks followed by a final norm; one mask shared by all layers (see ``attention_mask``)."""

    def __init__(self, d_model: int, n_layers: int, n_heads: int):
        super().__init__()
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.norm = RMSNorm(d_model)

    def forward(self, x, *, causal: bool, window: int | None = None, key_padding: torch.Tensor | None = None,
                segments: torch.Tensor | None = None, segment_span: int | None = None):
        mask = attention_mask(x.shape[1], causal=causal, window=window, key_padding=key_padding, segments=segments,
                              segment_span=segment_span, device=x.device)
        for block in self.blocks:
            x = block(x, mask, causal)
        return self.norm(x)


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """Normal(0, std) for linear and embedding weights, as GPT-2; norms keep their ones."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def with_closing_space(batch, bos: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Input ids [BOS, " word", " "] for a batch of one-word byte windows (n bytes each, zero-padded to the
    longest, n_max), and their real positions: (B, n_max+2) ids and (B, n_max+2) bool, True at positions
    <= n+1. Families whose upper level runs only after a word has ended (SpaceByte, H-Net) read a word so."""
    x, n = batch.bytes, batch.byte_mask.sum(1)  # (B, n_max), (B,)
    rows = torch.arange(len(n), device=x.device)
    x = F.pad(x, (0, 1)).index_put((rows, n), torch.tensor(ord(" "), device=x.device))  # (B, n_max+1)
    ids = torch.cat([torch.full_like(x[:, :1], bos), x], dim=1)
    real = torch.arange(ids.shape[1], device=x.device)[None, :] <= (n + 1)[:, None]
    return ids, real
