"""Analytic FLOPs against torch's FlopCounterMode, attention on the math path so that it is counted.
Each window is counted alone, so the counter runs on one window at a time too. Models are built
without their attention window: the math path computes the full T×T scores and masks them, while
the convention counts the window (a test below checks that part by hand)."""

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from byteword.data import collate
from byteword.flops import forward_flops

from byteword.models import build_model, model_config_from_dict
from conftest import FAMILY_ENTRIES

WINDOWS = [b"The quick brown fox jumps over the lazy dog, again and again.", "Привет, мир! Tabs\tand 😀.".encode()]


@pytest.mark.parametrize("kind", [k for k in FAMILY_ENTRIES if k != "bytes_window"])
def test_analytic_flops_match_the_counted_matmuls(tokenizer, kind):
    entry = {k: v for k, v in FAMILY_ENTRIES[kind].items() if k != "attention_window"}
    model = build_model(model_config_from_dict(kind, entry), tokenizer).eval()
    counted = 0
    for window in WINDOWS:
        batch = collate([window], model.batch_kind, tokenizer, model.cfg.max_word_bytes)
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
            model(batch)
        counted += counter.get_total_flops()
    analytic, n_bytes = forward_flops(model, WINDOWS, tokenizer)
    assert n_bytes == sum(len(w) for w in WINDOWS)
    assert analytic == pytest.approx(counted, rel=1e-6)  # the convention counts exactly what runs


def test_a_window_caps_the_attended_length(make_model):
    window = WINDOWS[0]  # 61 bytes, a window of 8
    full, windowed = make_model("bytes"), make_model("bytes_window")
    d, layers = full.cfg.d_model, full.cfg.n_layers
    difference = forward_flops(full, [window])[0] - forward_flops(windowed, [window])[0]
    assert difference == len(window) * layers * 4 * (len(window) - 8) * d  # scores and sums over 61 vs 8 keys
