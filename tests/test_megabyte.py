"""Known answers for the MEGABYTE family: patches of exactly P bytes, causality across and inside a
patch, padding invariance, FLOPs that count the padded last patch, and a patch-by-patch recomputation."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from byteword.data import collate
from byteword.models import build_model, model_config_from_dict, param_counts
from byteword.models.megabyte import BYTE_BOS

from conftest import FAMILY_ENTRIES

TEXT = b"The cat sat on the mat, then slept by the fire."  # 47 bytes: not a multiple of 3, 4 or 5


def megabyte(patch_size: int, seed: int = 0):
    torch.manual_seed(seed)
    entry = {**FAMILY_ENTRIES["megabyte"], "patch_size": patch_size}
    return build_model(model_config_from_dict(f"megabyte_p{patch_size}", entry)).eval()


def run(model, windows):
    with torch.no_grad():
        return model(collate(windows, "bytes"))


@pytest.mark.parametrize("P", [3, 5])
def test_boundaries_are_every_patch_start(P):
    windows = [TEXT[:22], TEXT]  # 22 and 47 bytes, neither a multiple of P; the first is batch-padded
    out = run(megabyte(P), windows)
    for row, w in enumerate(windows):
        expected = [t < len(w) and t % P == 0 for t in range(len(TEXT))]
        assert out.boundaries[row].tolist() == expected
    assert int(out.boundaries.sum()) == math.ceil(22 / P) + math.ceil(47 / P)


@pytest.mark.parametrize("P", [3, 4])
def test_changing_one_byte_leaves_all_earlier_predictions_unchanged(P):
    """Every position t of the window, patch starts and mid-patch alike: bytes < t keep their scores, and
    the state that predicts byte t (hidden["byte"][t]) does not read byte t itself."""
    model = megabyte(P)
    base = run(model, [TEXT])
    out = run(model, [TEXT[:t] + b"#" + TEXT[t + 1:] for t in range(len(TEXT))])  # row t changes byte t
    for t in range(len(TEXT)):
        torch.testing.assert_close(out.byte_logprobs[t, :t], base.byte_logprobs[0, :t], rtol=0, atol=1e-5)
        torch.testing.assert_close(out.hidden["byte"][t, :t + 1], base.hidden["byte"][0, :t + 1], rtol=0, atol=1e-5)


@pytest.mark.parametrize("t", [8, 10, 11], ids=["patch_start", "mid_patch", "patch_end"])
def test_a_change_reaches_later_patches_through_the_patch_embedding(t):
    """With P = 4, a change at byte t moves later bytes of its own patch (local model, unless t ends the
    patch) and every byte of the next patch (only the global model, via the patch embedding, links them)."""
    P = 4
    model = megabyte(P)
    changed = bytearray(TEXT)
    changed[t] = ord("#")
    a, b = run(model, [TEXT]).byte_logprobs[0], run(model, [bytes(changed)]).byte_logprobs[0]
    torch.testing.assert_close(a[:t], b[:t], rtol=0, atol=1e-5)
    end = (t // P + 1) * P  # first byte of the next patch
    if t + 1 < end:
        assert (a[t + 1:end] - b[t + 1:end]).abs().min() > 1e-6
    assert (a[end:end + P] - b[end:end + P]).abs().min() > 1e-6


def test_patch_embedding_alone_carries_the_previous_patch():
    """Zeroing the patch projection cuts the only path between patches: bytes of later patches no longer
    see earlier ones, so a change in patch 0 leaves every later patch unchanged."""
    model = megabyte(4)
    torch.nn.init.zeros_(model.patch_proj.weight)
    changed = b"X" + TEXT[1:]
    a, b = run(model, [TEXT]).byte_logprobs[0], run(model, [changed]).byte_logprobs[0]
    torch.testing.assert_close(a[4:], b[4:], rtol=0, atol=1e-6)
    assert not torch.allclose(a[1:4], b[1:4])


def test_each_local_position_reads_its_own_slice_of_the_global_state():
    """Keep only slice 2 of the projection into the local model: a change in patch 0 reaches patch 1 at
    its position 2 (and, through the causal local model, after it) but not at positions 0 and 1."""
    model = megabyte(4)
    d = model.cfg.decoder.d_model
    with torch.no_grad():
        weight = model.to_local.weight.view(4, d, -1)  # (P, d_dec, d_bb)
        weight[[0, 1, 3]] = 0
    changed = b"X" + TEXT[1:]
    a, b = run(model, [TEXT]).byte_logprobs[0], run(model, [changed]).byte_logprobs[0]
    torch.testing.assert_close(a[4:6], b[4:6], rtol=0, atol=1e-6)
    assert (a[6:8] - b[6:8]).abs().min() > 1e-6


def test_without_global_input_patches_are_predicted_alone():
    torch.manual_seed(0)
    entry = {**FAMILY_ENTRIES["megabyte"], "patch_size": 4, "global_input": False}
    model = build_model(model_config_from_dict("megabyte_local", entry)).eval()
    changed = b"X" + TEXT[1:]
    a, b = run(model, [TEXT]).byte_logprobs[0], run(model, [changed]).byte_logprobs[0]
    torch.testing.assert_close(a[4:], b[4:], rtol=0, atol=1e-6)
    assert not hasattr(model, "to_local") and param_counts(model)["params_total"] == sum(
        p.numel() for p in model.parameters())


@pytest.mark.parametrize("P", [3, 4])
def test_padding_inside_the_last_patch_and_the_batch_changes_nothing(P):
    model = megabyte(P)
    short = TEXT[:13]  # 13 bytes: a partial last patch for both sizes
    alone = run(model, [short])
    batched = run(model, [short, TEXT])
    torch.testing.assert_close(alone.byte_logprobs[0], batched.byte_logprobs[0, :13], rtol=0, atol=1e-5)
    assert batched.byte_logprobs[0, 13:].abs().sum() == 0  # padded bytes are never scored
    torch.testing.assert_close(alone.hidden["byte"][0], batched.hidden["byte"][0, :13], rtol=0, atol=1e-5)
    with torch.no_grad():
        readings = model.word_readings(collate([b" cat", b" elephants"], "bytes"))
        alone = model.word_readings(collate([b" cat"], "bytes"))
    for reading in readings:
        torch.testing.assert_close(readings[reading][0], alone[reading][0], rtol=0, atol=1e-5)


def test_log_likelihoods_match_a_patch_by_patch_recomputation():
    """Recompute each patch on its own, unbatched and unvectorised, and compare with the model."""
    P = 4
    model = megabyte(P)
    window = TEXT[:10]  # patches "The ", "cat ", "sa" (+ 2 bytes of padding)
    patches = [list(window[i:i + P]) for i in range(0, len(window), P)]
    expected = []
    with torch.no_grad():
        g_in = [model.global_bos]
        for patch in patches[:-1]:
            padded = patch + [0] * (P - len(patch))
            g_in.append(model.patch_proj(torch.cat([model.global_embed.weight[b] for b in padded])))
        g = model.global_model(torch.stack(g_in)[None], causal=True)[0]  # (K, d_bb)
        for k, patch in enumerate(patches):
            prev = torch.tensor([BYTE_BOS] + patch[:-1])
            slices = model.to_local(g[k]).view(P, -1)[: len(patch)]  # slice j for local position j
            h = model.local_model((model.local_embed(prev) + slices)[None], causal=True)[0]
            logp = F.log_softmax(model.head(h), dim=-1)
            expected += [logp[j, b].item() for j, b in enumerate(patch)]
    assert run(model, [window]).byte_logprobs[0].tolist() == pytest.approx(expected, abs=1e-5)


def test_zero_head_scores_exactly_eight_bits_per_byte():
    model = megabyte(4)
    torch.nn.init.zeros_(model.head.weight)
    out = run(model, [TEXT[:13], TEXT])
    assert float(out.nll_sum) / (math.log(2) * out.n_bytes) == pytest.approx(8.0, abs=1e-6)


@pytest.mark.parametrize("P", [3, 4])
def test_flops_count_the_padded_last_patch(P):
    model = megabyte(P)
    k = 5
    flops = {n: model.analytic_flops(collate([TEXT[:n]], "bytes")) for n in (k * P, k * P + 1, (k + 1) * P)}
    assert flops[k * P + 1] == flops[(k + 1) * P] > flops[k * P]
    for n in (k * P + 1, (k + 1) * P):  # and the model really computes that padded patch
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            run(model, [TEXT[:n]])
        assert flops[n] == pytest.approx(counter.get_total_flops(), rel=0.05)


def test_param_counts_assign_every_parameter():
    model = megabyte(4)
    counts = param_counts(model)
    dec, bb = FAMILY_ENTRIES["megabyte"]["decoder"]["d_model"], FAMILY_ENTRIES["megabyte"]["backbone"]["d_model"]
    assert counts["params_total"] == sum(p.numel() for p in model.parameters())
    assert counts["params_encoder"] == 4 * dec * bb  # the patch projection
    assert counts["params_decoder"] - sum(p.numel() for p in model.local_model.parameters()) == bb * 4 * dec
    assert counts["params_embedding"] == 256 * dec + 257 * dec + dec * 256
