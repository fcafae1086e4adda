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
from byteword.models.layers import BLOCKS_FROM
from conftest import FAMILY_ENTRIES

WINDOWS = [b"The quick brown fox jumps over the lazy dog, again and again.", "Привет, мир! Tabs\tand 😀.".encode()]


@pytest.mark.parametrize("kind", [k for k in FAMILY_ENTRIES if k != "bytes_window"])
def test_analytic_flops_match_the_counted_matmuls(tokenizer, kind):
    entry = {k: v for k, v in FAMILY_ENTRIES[kind].items() if k != "attention_window"}
    model = build_model(model_config_from_dict(kind, entry), tokenizer).eval()
    counted = 0
    for window in WINDOWS:
        batch = model.collate([window], tokenizer)
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
            model(batch)
        counted += counter.get_total_flops()
    analytic, n_bytes = forward_flops(model, WINDOWS, tokenizer)
    assert n_bytes == sum(len(w) for w in WINDOWS)
    if model.batch_kind == "words":
        counted -= sum(attention_across_words(model, collate([w], "words", max_word_bytes=model.cfg.max_word_bytes))
                       for w in WINDOWS)
    assert analytic == pytest.approx(counted, rel=1e-6)  # the convention counts exactly what runs


def scored_pairs(T: int, span: int) -> int:
    """Query-key pairs a level scores on a row of T slots whose segments are at most ``span`` long: the
    whole row, or in a long row blocks of span - 1 queries against twice as many keys."""
    block = span - 1
    return -(-T // block) * block * 2 * block if T >= BLOCKS_FROM * block else T**2


def attention_across_words(model, batch) -> int:
    """HAT's packed rows attend over the whole row, or over blocks of the row (``LocalBlocks``), and mask
    other words out: the scores computed beyond each word's own (n + k)² (encoder) and (n + 1)² (decoder),
    which the convention does not count."""
    lengths = batch.word_len[0].tolist()
    enc, dec, k, longest = model.cfg.encoder, model.cfg.decoder, model.n_word_tokens, model.cfg.max_word_bytes
    T_e, T_d = sum(lengths) + k * len(lengths), sum(lengths) + len(lengths)
    extra = 4 * enc.d_model * enc.n_layers * (scored_pairs(T_e, longest + k) - sum((n + k) ** 2 for n in lengths))
    extra += 4 * dec.d_model * dec.n_layers * (scored_pairs(T_d, longest + 1) - sum((n + 1) ** 2 for n in lengths))
    if model.cfg.pooling == "cross_attention":  # each word's query is scored against every key of the row
        extra += 4 * enc.d_model * (len(lengths) * T_e - sum(lengths))
    return extra


def test_a_window_caps_the_attended_length(make_model):
    window = WINDOWS[0]  # 61 bytes, a window of 8
    full, windowed = make_model("bytes"), make_model("bytes_window")
    d, layers = full.cfg.backbone.d_model, full.cfg.backbone.n_layers
    difference = forward_flops(full, [window])[0] - forward_flops(windowed, [window])[0]
    assert difference == len(window) * layers * 4 * (len(window) - 8) * d  # scores and sums over 61 vs 8 keys
