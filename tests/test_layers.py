"""Local attention in blocks gives the attention of the full mask it stands for; rotary turns agree in both
forms."""

import cmath

import pytest
import torch
import torch.nn.functional as F

from byteword.models import layers
from byteword.models.layers import LocalBlocks, attention_mask, local_attention


def random_segments(B: int, T: int, span: int, seed: int) -> torch.Tensor:
    """(B, T) ids of consecutive segments of 1..span positions, laid end to end."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(B):
        lengths = torch.randint(1, span + 1, (T,), generator=g)
        rows.append(torch.repeat_interleave(torch.arange(T), lengths)[:T])
    return torch.stack(rows)


def full_mask(T: int, window: int | None = None, segments: torch.Tensor | None = None, **_) -> torch.Tensor:
    """(B or 1, 1, T, T) by the definitions: causal, inside the window, inside the segment."""
    q, k = torch.arange(T)[:, None], torch.arange(T)[None, :]
    mask = (k <= q) & ((q - k < window) if window else True)
    mask = mask[None, None]
    return mask & (segments[:, None, :, None] == segments[:, None, None, :]) if segments is not None else mask


@pytest.mark.parametrize("T", [60, 64, 97])  # ten whole blocks of 6, and rows that end inside one
@pytest.mark.parametrize("kind", ["window", "segments", "both"])
@pytest.mark.parametrize("fused", [False, True])  # plain products (CPU) and SDPA over the blocks (GPU)
def test_blocks_attend_exactly_where_the_full_mask_does(T, kind, fused):
    B, H, Dh, span = 3, 2, 8, 7
    kw = {}
    if kind in ("window", "both"):
        kw["window"] = span
    if kind in ("segments", "both"):
        kw.update(segments=random_segments(B, T, span, seed=T), segment_span=span)
    blocks = attention_mask(T, causal=True, **kw)
    assert isinstance(blocks, LocalBlocks) and blocks.block == span - 1
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(B, H, T, Dh, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(3))
    local = local_attention(q, k, v, blocks, fused=fused)
    full = F.scaled_dot_product_attention(q, k, v, attn_mask=full_mask(T, **kw))
    torch.testing.assert_close(local, full, rtol=1e-10, atol=1e-10)
    grads = torch.autograd.grad(local.square().sum(), (q, k, v))
    want = torch.autograd.grad(full.square().sum(), (q, k, v))
    for got, expected in zip(grads, want):
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_short_rows_and_unbounded_segments_keep_the_full_mask():
    segments = random_segments(2, 40, 9, seed=1)
    assert isinstance(attention_mask(40, causal=True, segments=segments), torch.Tensor)  # no span given
    assert isinstance(attention_mask(40, causal=True, segments=segments, segment_span=9), torch.Tensor)  # 40 < 8 * 8
    assert isinstance(attention_mask(64, causal=True, segments=segments[:, :1].expand(2, 64), segment_span=9),
                      LocalBlocks)
    assert attention_mask(64, causal=True, window=64) is None  # a window as long as the row is none


def test_a_hierarchical_model_scores_the_same_in_blocks_as_over_whole_rows(make_model, monkeypatch):
    """HAT's byte levels run in blocks on rows of at least 8 blocks (blocks of 8 slots here: words of at most
    8 bytes and their token); forcing the full mask changes no log-likelihood beyond float rounding."""
    model = make_model("hat").eval()
    texts = [b"the cat sat on the mat and then it ran off to see a dog " * 2, b"one two three four five six seven"]
    batch = model.collate(texts)
    seen = []
    real_local = layers.local_attention
    monkeypatch.setattr(layers, "local_attention", lambda *a: seen.append(1) or real_local(*a))
    with torch.no_grad():
        blocked = model(batch).byte_logprobs
    assert seen  # the blocks ran
    monkeypatch.setattr(layers, "BLOCKS_FROM", 10 ** 9)
    with torch.no_grad():
        whole = model(batch).byte_logprobs
    torch.testing.assert_close(blocked, whole, rtol=1e-5, atol=1e-5)


def test_rotary_forms_agree_and_turn_by_position():
    """The complex product (float32 on a CPU) and the real form (here in float64) give the same turn;
    position 0 is not turned, and every turn keeps the length of each channel pair."""
    x = torch.randn(2, 3, 11, 8, dtype=torch.float64)
    complex_form = layers.rotary(x.float())
    real_form = layers.rotary(x)
    assert torch.allclose(complex_form.double(), real_form, atol=1e-5)
    assert torch.equal(real_form[..., 0, :], x[..., 0, :])
    pair_length = lambda y: y.unflatten(-1, (4, 2)).norm(dim=-1)  # noqa: E731
    assert torch.allclose(pair_length(real_form), pair_length(x))
    # pair j at position t turns by t·10000^(-2j/Dh): pair 0 of position 1 by one radian
    first = complex(*x[0, 0, 1, :2].tolist()) * cmath.exp(1j)
    assert real_form[0, 0, 1, :2].tolist() == pytest.approx([first.real, first.imag], abs=1e-6)
