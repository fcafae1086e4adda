"""Known answers for the H-Net family: routing, the EMA, the ratio loss, the straight-through confidence,
causality through chunk boundaries, and a ratio loss that steers the boundary rate."""

import random

import pytest
import torch

from byteword.data import collate
from byteword.models import build_model, model_config_from_dict, param_counts
from byteword.models import hnet as hnet_module
from byteword.models.hnet import ema_over_chunks, straight_through

from conftest import FAMILY_ENTRIES


def run(model, texts):
    return model(collate([t.encode() if isinstance(t, str) else t for t in texts], "bytes"))


def test_boundaries_follow_the_router_and_depend_on_the_input(make_model):
    model = make_model("hnet").eval()
    with torch.no_grad():
        out = run(model, ["The cat sat on the mat.", "Zq!xx 9 9 9 9 ppp, a ok", "short"])
    p, b, mask = out.hidden["boundary_prob"], out.boundaries, out.byte_mask
    assert b.dtype == torch.bool and b.shape == mask.shape
    assert b[:, 0].all() and (p[:, 0] == 1).all()  # the BOS position always opens a chunk
    assert not b[~mask].any() and (p[~mask] == 0).all()  # padding is never a boundary
    assert torch.equal(b, (p >= 0.5) & mask)
    assert ((p >= 0) & (p <= 1)).all()
    assert not torch.equal(b[0], b[1])  # two strings of equal length, different boundaries
    assert 1 < int(b[0].sum()) < 23  # some chunks, not one per byte
    assert set(param_counts(model)) >= {"params_encoder", "params_backbone", "params_decoder", "params_embedding"}


def test_router_is_the_cosine_rule_with_identity_projections(make_model):
    """At initialisation W_q = W_k = I, so p_t = (1 - cos(h_t, h_{t-1})) / 2."""
    model = make_model("hnet").eval()
    with torch.no_grad():
        out = run(model, ["Hello, world"])
    h = out.hidden["encoder"][0]
    expected = (1 - torch.nn.functional.cosine_similarity(h[1:], h[:-1], dim=-1)) / 2
    torch.testing.assert_close(out.hidden["boundary_prob"][0, 1:], expected, rtol=0, atol=1e-6)


def test_ema_matches_the_recurrence_by_hand():
    z = torch.tensor([[[1.0], [2.0], [4.0]]])
    P = torch.tensor([[1.0, 0.5, 0.25]])
    # z̄0 = 1; z̄1 = 0.5·2 + 0.5·1 = 1.5; z̄2 = 0.25·4 + 0.75·1.5 = 2.125
    assert ema_over_chunks(z, P)[0, :, 0].tolist() == pytest.approx([1.0, 1.5, 2.125])
    # random rows against the loop, with a padded chunk (P = 0) at the end of the second row
    torch.manual_seed(0)
    z, P = torch.randn(2, 7, 5), torch.rand(2, 7) * 0.5 + 0.5
    P[:, 0], P[1, -1] = 1.0, 0.0
    want, prev = torch.zeros_like(z), torch.zeros_like(z[:, 0])
    for c in range(7):
        prev = P[:, c, None] * z[:, c] + (1 - P[:, c, None]) * prev
        want[:, c] = prev
    torch.testing.assert_close(ema_over_chunks(z, P), want, rtol=0, atol=1e-5)


def test_ratio_loss_known_answers(make_model):
    model = make_model("hnet")  # target_chunk_bytes N = 4
    mask = torch.tensor([[True, True, True, True, False, False]])
    # F = 1/N gives 1 whatever G: N/(N-1) ((N-1) G / N + (N-1)(1-G) / N) = 1
    p = torch.tensor([[1.0, 0.2, 0.1, 0.3, 0.9, 0.9]])
    assert float(model.ratio_loss(p, (p >= 0.5) & mask, mask)) == pytest.approx(1.0)
    # F = G = 1/2: 4/3 (3/4 + 1/4) = 4/3; the padded positions are not counted
    p = torch.tensor([[1.0, 0.6, 0.2, 0.2, 0.9, 0.9]])
    assert float(model.ratio_loss(p, (p >= 0.5) & mask, mask)) == pytest.approx(4 / 3)


def test_straight_through_confidence_is_one_forward_and_passes_its_gradient(make_model, monkeypatch):
    c = torch.tensor([0.5, 0.73, 0.999, 0.0123], requires_grad=True)
    out = straight_through(c)
    assert torch.equal(out, torch.ones(4))
    (out * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert c.grad.tolist() == [1.0, 2.0, 3.0, 4.0]

    texts = ["The cat sat on the mat.", "An apple a day"]
    model = make_model("hnet")
    out = run(model, texts)
    out.nll_sum.backward()
    grad_ste = model.router_q.weight.grad.clone()
    model.zero_grad()
    monkeypatch.setattr(hnet_module, "straight_through", lambda c: torch.ones_like(c))
    plain = run(model, texts)
    plain.nll_sum.backward()
    assert torch.equal(out.byte_logprobs, plain.byte_logprobs)  # exactly the same forward pass
    assert not torch.allclose(grad_ste, model.router_q.weight.grad)  # but the confidence carries a gradient


def test_no_gradient_flows_from_later_inputs_to_earlier_predictions(make_model):
    """d log p(x_t) / d (input embedding at s) is exactly 0 for s > t, through chunks, EMA and upsampling."""
    model = make_model("hnet").eval()
    batch = collate([b"The cat sat on the mat, then it slept."], "bytes")
    embedded = {}

    def keep(module, inputs, output):
        output.retain_grad()
        embedded["e"] = output

    model.embed.register_forward_hook(keep)
    T = batch.bytes.shape[1]
    n_chunks = int(run(model, ["The cat sat on the mat, then it slept."]).boundaries.sum())
    assert 2 < n_chunks < T
    for t in range(T):
        model.zero_grad()
        model(batch).byte_logprobs[0, t].backward()
        g = embedded["e"].grad[0].abs().sum(-1)  # (T,)
        assert (g[t + 1:] == 0).all(), f"position {t} reads inputs at {(g[t + 1:] > 0).nonzero()[:, 0] + t + 1}"
        assert g[t] > 0


def test_causal_when_the_changed_byte_creates_or_removes_a_boundary(make_model):
    """Change byte n so that the boundary at position n + 1 (the first input holding it) flips."""
    model = make_model("hnet").eval()
    prefix = "The cat sa"
    n = len(prefix)
    outs = {}
    with torch.no_grad():
        for ch in "abcdefghijklmnopqrstuvwxyz .,!?":
            outs[ch] = run(model, [prefix + ch + "t on the mat, then slept."])
    with_boundary = [ch for ch, o in outs.items() if o.boundaries[0, n + 1]]
    without = [ch for ch, o in outs.items() if not o.boundaries[0, n + 1]]
    assert with_boundary and without, "no byte flips the boundary; pick another prefix"
    a, b = outs[with_boundary[0]], outs[without[0]]
    assert torch.equal(a.boundaries[0, : n + 1], b.boundaries[0, : n + 1])
    torch.testing.assert_close(a.byte_logprobs[0, :n], b.byte_logprobs[0, :n], rtol=0, atol=1e-6)
    torch.testing.assert_close(a.hidden["byte"][0, : n + 1], b.hidden["byte"][0, : n + 1], rtol=0, atol=1e-6)
    assert not torch.allclose(a.hidden["byte"][0, n + 1], b.hidden["byte"][0, n + 1])


def test_flops_use_the_boundaries_the_model_draws(make_model):
    model = make_model("hnet").eval()
    batch = collate([b"The cat sat on the mat, then it slept."], "bytes")
    before = (int(model(batch).boundaries.sum()), model.analytic_flops(batch))
    with torch.no_grad():  # W_k = -I: p_t = (1 + cos) / 2, other boundaries
        model.router_k.weight.neg_()
    after = (int(model(batch).boundaries.sum()), model.analytic_flops(batch))
    assert before[0] != after[0]
    assert (before[0] < after[0]) == (before[1] < after[1])


def test_ratio_loss_steers_the_boundary_rate_toward_its_target():
    """Trained on repeated short random words, the rate of chunk starts moves from where it starts toward
    1/target_chunk_bytes, for a target well below it and for one well above it (ratio loss weight 0.03)."""
    level = FAMILY_ENTRIES["hnet"]["encoder"]
    rng = random.Random(0)
    words = [bytes(rng.randrange(97, 123) for _ in range(rng.randrange(3, 7))) for _ in range(12)]
    batches = [collate([b" ".join(rng.choice(words) for _ in range(10))[:48] for _ in range(8)], "bytes")
               for _ in range(61)]
    held = batches.pop()

    def rate(model):
        with torch.no_grad():
            out = model(held)
        return float((out.boundaries & out.byte_mask).sum() / out.byte_mask.sum())

    final = {}
    for target in (16.0, 1.5):
        torch.manual_seed(0)
        model = build_model(model_config_from_dict("hnet", {
            **FAMILY_ENTRIES["hnet"], "target_chunk_bytes": target, "encoder": level, "decoder": level}))
        start = rate(model)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        for batch in batches:
            loss = model(batch).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
        final[target] = rate(model)
        assert abs(final[target] - 1 / target) < 0.5 * abs(start - 1 / target), (target, start, final[target])
    assert final[1.5] - final[16.0] > 0.3
