"""Known answers for every family: causality, exact BPB accounting, uniform = 8 bits, overfitting."""

import math

import pytest
import torch
import torch.nn.functional as F

from byteword.data import split_windows
from byteword.evaluation.bpb import score_windows
from byteword.models.hierarchical import EOW, WORD_TOKEN

from conftest import FAMILY_ENTRIES

FAMILIES = list(FAMILY_ENTRIES)
BYTE_LEVEL = [kind for kind in FAMILIES if kind != "bpe"]
SAMPLE_TEXT = "Ein Beispiel: naïve café, 東京 and more words to fill windows. " * 3


def run(model, texts, tokenizer=None):
    windows = [t.encode() for t in texts]
    return model(model.collate(windows, tokenizer))


@pytest.mark.parametrize("kind", BYTE_LEVEL)
@pytest.mark.parametrize("prefix, a_end, b_end", [
    ("The cat sat", " on the mat, then slept.", " by a dog; ran off!"),  # change after a word boundary
    ("The cat sa", "t on the mat, then slept.", "w a dog; ran off!"),  # change inside a word
])
def test_changing_later_bytes_leaves_earlier_likelihoods_unchanged(make_model, kind, prefix, a_end, b_end):
    model = make_model(kind).eval()
    a = run(model, [prefix + a_end]).byte_logprobs[0]
    b = run(model, [prefix + b_end]).byte_logprobs[0]
    n = len(prefix.encode())
    torch.testing.assert_close(a[:n], b[:n], rtol=0, atol=1e-5)
    assert not torch.allclose(a[n:n + 3], b[n:n + 3])


def test_bpe_model_is_causal_at_token_level(make_model):
    model = make_model("bpe").eval()
    ids = torch.randint(1, 300, (1, 24))
    changed = ids.clone()
    changed[0, 12:] = torch.randint(1, 300, (12,))
    h1, h2 = model.hidden_states(ids), model.hidden_states(changed)
    torch.testing.assert_close(h1[:, :12], h2[:, :12], rtol=0, atol=1e-5)


def test_uniform_byte_model_scores_exactly_eight_bits(make_model):
    model = make_model("bytes")
    torch.nn.init.zeros_(model.head.weight)  # logits all zero: uniform over the 256 bytes
    windows = split_windows(SAMPLE_TEXT, 40)
    assert score_windows(model, windows).bpb == pytest.approx(8.0, abs=1e-6)


def test_hierarchical_log_likelihoods_sum_by_hand(make_model):
    """Recompute a two-word window word by word, without batching, and compare with the model."""
    model = make_model("hat").eval()
    words = [b"ab", b" cde"]
    out = run(model, ["ab cde"])
    with torch.no_grad():
        encoded = [encode_one_word(model, w) for w in words]
        bb_in = torch.stack([model.bos, encoded[0][0]])[None]  # word i is predicted from words < i
        states = model.backbone(bb_in, causal=True)[0]
        expected_per_byte, eows = [], []
        for state, w, (_, byte_states) in zip(states, words, encoded):
            ctx = model.to_decoder(state)[None, None]
            dec_in = torch.cat([ctx, model.bytes_to_decoder(byte_states) + ctx], dim=1)
            logp = F.log_softmax(model.head(model.decoder(dec_in, causal=True)), -1)[0]
            lps = [logp[j, b].item() for j, b in enumerate(w)]
            if eows:  # the previous word's end-of-word is credited to this word's first byte
                lps[0] += eows[-1]
            eows.append(logp[len(w), EOW].item())
            expected_per_byte += lps
    got = out.byte_logprobs[0]
    assert got.tolist() == pytest.approx(expected_per_byte, abs=1e-5)
    # the last word's end-of-word is paid by nobody: the text may go on
    assert float(out.nll_sum.detach()) == pytest.approx(-sum(expected_per_byte), abs=1e-4)
    assert out.n_bytes == 6


def encode_one_word(model, word: bytes) -> tuple[torch.Tensor, torch.Tensor]:
    """HAT's encoder run on one word alone, [bytes, word token] at positions 0..n: its word vector (d_bb)
    and byte states (1, n, d_enc), the reference the model's packed rows must reproduce."""
    ids = torch.tensor([[*word, WORD_TOKEN]])
    h = model.encoder(model.enc_embed(ids) + model.enc_pos.weight[: len(word) + 1], causal=True)
    return model.to_backbone(h[0, -1]), h[:, :-1]


@pytest.mark.parametrize("kind", FAMILIES)
def test_padding_does_not_change_scores(make_model, tokenizer, kind):
    model = make_model(kind).eval()
    alone = run(model, ["short one"], tokenizer).byte_logprobs[0]
    batched = run(model, ["short one", "a much longer second window of text"], tokenizer).byte_logprobs[0, :9]
    torch.testing.assert_close(alone, batched, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", FAMILIES)
def test_a_batch_padded_to_capacity_scores_the_same_bytes(make_model, tokenizer, kind):
    model = make_model(kind).eval()
    # 9 and 11 words, 17 and 21 bytes: none of the sizes is a capacity
    batch = model.collate([b"a b c d e f g h i", b"a b c d e f g h i j k"], tokenizer)
    padded = model.pad_to_capacity(batch)
    if model.static_shapes:
        assert padded.bytes.shape[1] == 24 and padded.word_len.shape[1] == 12
    with torch.no_grad():
        out, out_padded = model(batch), model(padded)
    W = batch.bytes.shape[1]
    assert torch.equal(padded.byte_mask[:, :W], batch.byte_mask) and not padded.byte_mask[:, W:].any()
    torch.testing.assert_close(out_padded.byte_logprobs[:, :W], out.byte_logprobs, rtol=0, atol=1e-5)
    assert not out_padded.byte_logprobs[:, W:].any()


@pytest.mark.parametrize("kind", FAMILIES)
def test_one_batch_overfits_below_005_bits_per_byte(make_model, tokenizer, kind):
    torch.manual_seed(0)
    model = make_model(kind)
    # one window: several windows would start with different first bytes, unpredictable from BOS alone
    windows = split_windows("The quick brown fox jumps over the lazy dog. Привет мир! 12345.", 128)
    assert len(windows) == 1
    batch = model.collate(windows, tokenizer)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(400):
        out = model(batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        if float(out.nll_sum.detach()) / (math.log(2) * out.n_bytes) < 0.02:  # BPB alone, without an aux loss
            break
    model.eval()
    with torch.no_grad():
        out = model(batch)
    assert float(out.nll_sum) / (math.log(2) * out.n_bytes) < 0.05
    # a byte whose credited predictions have probability > 1/2 together was each predicted as the top choice
    sure = (out.byte_logprobs > math.log(0.5)) & out.byte_mask
    assert sure.float().mean() > 0.9 and out.byte_hit[sure].all()
    if kind != "bpe":  # inside a BPE token no prediction starts
        assert out.start_hit[sure].all()


@pytest.mark.parametrize("kind", FAMILIES)
def test_a_zero_head_predicts_byte_zero_and_so_never_hits(make_model, tokenizer, kind):
    model = make_model(kind).eval()
    with torch.no_grad():
        model.head.weight.zero_()  # uniform: the top choice is id 0 (byte 0x00, or BOS for BPE), never in the text
        batch = model.collate(split_windows(SAMPLE_TEXT, 64), tokenizer)
        out = model(batch)
    assert not out.start_hit[out.byte_mask].any()
    credited = out.byte_mask if kind != "bpe" else out.boundaries.roll(-1, 1) | ~out.byte_mask.roll(-1, 1)
    assert not out.byte_hit[out.byte_mask & credited].any()
    assert model.train()(batch).byte_hit is None  # training pays nothing for the hit masks


def test_bpe_boundaries_mark_each_token_start(make_model, tokenizer):
    from byteword.tokenization import token_byte_spans

    text = "The cat sat on the mat. Привет"
    out = run(make_model("bpe").eval(), [text], tokenizer)
    starts = [start for start, _ in token_byte_spans(tokenizer, text)]
    assert out.boundaries[0].nonzero()[:, 0].tolist() == starts


@pytest.mark.parametrize("kind", FAMILIES)
def test_parameters_split_into_parts_that_sum_to_the_total(make_model, kind):
    from byteword.models import param_counts

    model = make_model(kind)
    counts = param_counts(model)
    parts = sum(counts[f"params_{p}"] for p in ("embedding", "encoder", "backbone", "decoder"))
    upstream = model.entropy if model.cfg.upstream is not None else None  # BLT's frozen entropy model, apart
    own = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in (upstream.parameters() if upstream else []))
    assert parts == counts["params_total"] == own
    assert counts["params_backbone"] > 0 and counts["params_embedding"] > 0


@pytest.mark.parametrize("k", [2, 4])
def test_multi_pooling_takes_words_shorter_than_its_vector_count(k):
    from byteword.models import build_model, model_config_from_dict

    entry = {**FAMILY_ENTRIES["hat_multi"], "vectors_per_word": k}
    model = build_model(model_config_from_dict("hat_multi", entry)).eval()
    out = run(model, ["a b", "Hi there"])  # every word of the first window is one byte long
    assert out.byte_logprobs[0, :3].lt(0).all() and out.n_bytes == 11
