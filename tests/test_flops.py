"""Analytic FLOPs against torch's FlopCounterMode, attention on the math path so that it is counted.
The analytic count uses real lengths only, so the inputs here have no padding: identical windows,
and for the hierarchical model words of one length (no padding inside a length bucket either)."""

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from byteword.data import collate
from byteword.flops import forward_flops

SENTENCE = b"The quick brown fox jumps over the lazy dog, again and again."
SAME_LENGTH_WORDS = b" fox dog cat owl" * 4


@pytest.mark.parametrize("kind, window", [("bytes", SENTENCE), ("bpe", SENTENCE), ("hat", SAME_LENGTH_WORDS)])
def test_analytic_flops_match_the_counted_matmuls(make_model, tokenizer, kind, window):
    model = make_model(kind).eval()
    windows = [window] * 3
    batch = collate(windows, model.batch_kind, tokenizer, model.cfg.max_word_bytes)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
        model(batch)
    analytic, n_bytes = forward_flops(model, windows, tokenizer)
    assert n_bytes == 3 * len(window)
    assert analytic == pytest.approx(counter.get_total_flops(), rel=0.01)
