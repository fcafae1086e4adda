"""SpaceByte known answers: the global-position rule by hand, its rate on Cyrillic vs English, the global
stack feeding only later predictions, every byte scored, FLOPs against the counted matmuls."""

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from byteword.data import collate
from byteword.models import build_model, model_config_from_dict, param_counts
from byteword.models.spacebyte import global_positions

from conftest import FAMILY_ENTRIES

ENGLISH = "The quick brown fox jumps over the lazy dog, then it naps under a warm tree."
RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей же чаю под тёплым деревом."


def make(seed=0, **overrides):
    torch.manual_seed(seed)
    return build_model(model_config_from_dict("spacebyte", {**FAMILY_ENTRIES["spacebyte"], **overrides})).eval()


def run(model, texts):
    return model(collate([t.encode() for t in texts], "bytes"))


def test_global_positions_on_mixed_latin_cyrillic_by_hand():
    x = torch.tensor(list("Hi, мир 42!".encode()))
    # position t reads BOS (t = 0) or byte t-1 and predicts byte t; it is global when the byte it reads is
    # space-like (not [0-9A-Za-z], not a continuation byte 0x80-0xBF) and the byte read before it is not
    expected = [
        True,  # 0  reads BOS               -> predicts 'H'   (BOS is always global)
        False,  # 1  reads 'H'                -> predicts 'i'
        False,  # 2  reads 'i'                -> predicts ','
        True,  # 3  reads ',' after 'i'      -> predicts ' '   (first space-like byte of a run)
        False,  # 4  reads ' ' after ','      -> predicts 0xD0  (same run)
        False,  # 5  reads 0xD0 after ' '     -> predicts 0xBC  (lead byte of 'м', still the same run)
        False,  # 6  reads 0xBC               -> predicts 0xD0  (continuation byte: not space-like)
        True,  # 7  reads 0xD0 after 0xBC    -> predicts 0xB8  (lead byte of 'и')
        False,  # 8  reads 0xB8               -> predicts 0xD1
        True,  # 9  reads 0xD1 after 0xB8    -> predicts 0x80  (lead byte of 'р')
        False,  # 10 reads 0x80               -> predicts ' '
        True,  # 11 reads ' ' after 0x80     -> predicts '4'
        False,  # 12 reads '4'                -> predicts '2'
        False,  # 13 reads '2'                -> predicts '!'
    ]
    assert global_positions(x).tolist() == expected
    assert global_positions(x).nonzero()[:, 0].tolist() == [0, 3, 7, 9, 11]


def test_global_positions_are_causal_and_respect_padding():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (64,))
    changed = x.clone()
    changed[40:] = torch.randint(0, 256, (24,))
    assert torch.equal(global_positions(x)[:41], global_positions(changed)[:41])  # t reads bytes < t only
    batch = collate([b"ab cd", b"ab cd ef gh"], "bytes")
    glob = global_positions(batch.bytes, batch.byte_mask)
    assert glob[0].tolist() == [True, False, False, True, False] + [False] * 6  # no global step in padding
    assert glob[1].tolist() == [True, False, False, True, False, False, True, False, False, True, False]


def test_cyrillic_runs_global_steps_far_more_often_than_english():
    def rate(text):
        b = text.encode()
        return global_positions(torch.tensor(list(b))).sum().item() / len(b)

    en, ru = rate(ENGLISH), rate(RUSSIAN)
    assert 0.1 < en < 0.25  # about one global step per English word
    assert ru > 0.4  # every Cyrillic letter after the first of a word is a 2-byte character
    assert ru > 2 * en


def test_boundaries_are_the_global_positions_and_global_states_one_per_position():
    model = make()
    texts = ["Hi, мир 42!", ENGLISH]
    batch = collate([t.encode() for t in texts], "bytes")
    out = model(batch)
    glob = global_positions(batch.bytes, batch.byte_mask)
    assert torch.equal(out.boundaries, glob)
    assert out.boundaries[:, 0].all() and not out.boundaries[~batch.byte_mask].any()
    assert out.hidden["global"].shape == (2, int(glob.sum(1).max()), FAMILY_ENTRIES["spacebyte"]["backbone"]["d_model"])
    assert out.hidden["byte"].shape == (*batch.bytes.shape, FAMILY_ENTRIES["spacebyte"]["encoder"]["d_model"])


def test_every_byte_is_scored_even_with_many_global_positions():
    model = make()
    text = RUSSIAN + " " + "a, b; c. d! " * 10  # more global positions than the reference's default cap W/6
    out = run(model, [text])
    n = len(text.encode())
    assert int(out.boundaries.sum()) > n / 6
    assert out.n_bytes == n and bool((out.byte_logprobs[0] < 0).all())


def test_global_stack_really_runs_and_feeds_only_later_positions():
    model = make()
    text = "The cat sat on the mat."
    base = run(model, [text])
    positions = base.boundaries[0].nonzero()[:, 0].tolist()
    assert positions[0] == 0  # the first global position is the BOS position

    # new global-stack weights change the log-likelihood at every position >= the first global one (all)
    changed = make()
    with torch.no_grad():
        for p in changed.backbone.parameters():
            p.add_(0.1 * torch.randn_like(p))
    diff = (run(changed, [text]).byte_logprobs - base.byte_logprobs).abs()[0]
    assert bool((diff > 1e-6).all())

    # a change to the global output at one slot reaches predictions from that slot's position on only
    slot = 2
    t = positions[slot]

    def shift_one_slot(module, args, out):  # out: (B, G, d_bb) global states
        return out + 5.0 * (torch.arange(out.shape[1]) == slot)[None, :, None]

    hook = model.backbone.register_forward_hook(shift_one_slot)
    moved = run(model, [text]).byte_logprobs[0]
    hook.remove()
    torch.testing.assert_close(moved[:t], base.byte_logprobs[0, :t], rtol=0, atol=1e-6)
    assert bool(((moved[t:] - base.byte_logprobs[0, t:]).abs() > 1e-6).all())


@pytest.mark.parametrize("window", [None, 16])
def test_analytic_flops_are_the_counted_matmuls_minus_the_masked_scores(window):
    """Without a window the count is exact; with one, the masked math path also multiplies the scores
    outside the window, which the convention leaves out: exactly 4·d·T·(T - window) per local layer."""
    model = make(attention_window=window)
    enc = FAMILY_ENTRIES["spacebyte"]["encoder"]
    n_local = enc["n_layers"] + FAMILY_ENTRIES["spacebyte"]["decoder"]["n_layers"]
    for text in [ENGLISH, RUSSIAN[:40]]:
        batch = collate([text.encode()], "bytes")
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
            model(batch)
        T = batch.bytes.shape[1]
        masked = n_local * 4 * enc["d_model"] * T * (T - min(T, window or T))
        assert model.analytic_flops(batch) == counter.get_total_flops() - masked


def test_param_counts_cover_every_part():
    model = make()
    counts = param_counts(model)
    d, D = FAMILY_ENTRIES["spacebyte"]["encoder"]["d_model"], FAMILY_ENTRIES["spacebyte"]["backbone"]["d_model"]
    assert counts["params_embedding"] == 257 * d + d * 256
    assert counts["params_backbone"] == sum(p.numel() for p in model.backbone.parameters()) + 2 * d * D
    assert min(counts[f"params_{part}"] for part in ("encoder", "backbone", "decoder")) > 0
    assert counts["params_total"] == sum(p.numel() for p in model.parameters())
