"""Analytic forward FLOPs per byte for each family.

Convention: 2 FLOPs per multiply-add of every matmul, output heads included, embeddings lookups
free; attention scores and weighted sums cost 2·2·T·d per position and layer, with T the full
sequence length (full T×T, not halved for causality; the window when one is set). Lengths are
measured on real windows without padding. Training FLOPs = 3 × forward."""

from __future__ import annotations

from byteword.data import collate

TRAIN_MULTIPLIER = 3


def stack_flops(positions: float, seq_len: float, d_model: int, n_layers: int, window: int | None = None) -> float:
    """Forward FLOPs of a block stack over a sequence: matmuls (12·d² weights per layer) and attention."""
    attended = min(seq_len, window) if window else seq_len
    per_position = n_layers * (2 * 12 * d_model**2 + 4 * attended * d_model)
    return positions * per_position


def forward_flops(model, windows: list[bytes], tokenizer=None) -> tuple[float, int]:
    """(forward FLOPs, bytes) of ``model`` over ``windows``, from the lengths its batches really have."""
    cfg = model.cfg
    batch = collate(windows, model.batch_kind, tokenizer=tokenizer, max_word_bytes=cfg.max_word_bytes)
    n_bytes = int(batch.byte_mask.sum())
    total = 0.0
    if cfg.family == "transformer":
        lengths = (batch.target_mask if batch.target_mask is not None else batch.byte_mask).sum(1).tolist()
        for T in lengths:
            total += stack_flops(T, T, cfg.d_model, cfg.n_layers, cfg.attention_window)
            total += T * 2 * cfg.d_model * model.vocab_out
    elif cfg.family == "hierarchical":
        enc, bb, dec = cfg.encoder, cfg.backbone, cfg.decoder
        for row_len in batch.word_len.tolist():
            words = [n for n in row_len if n > 0]
            for n in words:  # each word: encoder over bytes + word token, decoder over context + bytes
                total += stack_flops(n + 1, n + 1, enc.d_model, enc.n_layers)
                total += stack_flops(n + 1, n + 1, dec.d_model, dec.n_layers)
                total += (n + 1) * 2 * dec.d_model * 257  # byte + EOW head
                total += n * 2 * enc.d_model * dec.d_model  # encoder byte states into the decoder
                total += 2 * enc.d_model * bb.d_model + 2 * bb.d_model * dec.d_model  # word vector, context
            total += stack_flops(len(words), len(words), bb.d_model, bb.n_layers)
    else:
        raise ValueError(f"no FLOPs formula for family {cfg.family!r}")
    return total, n_bytes


def forward_flops_per_byte(model, windows: list[bytes], tokenizer=None) -> float:
    flops, n_bytes = forward_flops(model, windows, tokenizer)
    return flops / max(n_bytes, 1)
