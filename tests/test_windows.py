"""The evaluation protocol: cuts that never depend on what follows, spans that tile each document,
context that is read but not scored, and no BPB below the entropy of a source of known entropy."""

import math

import numpy as np
import pytest
import torch

from byteword.data import WindowSampler, char_floor, eval_windows, split_windows, window_cuts
from byteword.evaluation.bpb import score_windows
from byteword.models import build_model, model_config_from_dict
from byteword.tokenization import train_bpe

TEXT = "Héllo wörld, привет мир! The quick brown fox jumps over the lazy dog. 12345 " * 12
ALPHABET = "abcdefghijklmno "  # 16 equiprobable symbols: exactly 4 bits per byte
TINY = {
    "bpe": {"family": "transformer", "tokenizer": "bpe300", "backbone": {"d_model": 32, "n_layers": 1, "n_heads": 2}},
    "bytes": {"family": "transformer", "backbone": {"d_model": 32, "n_layers": 1, "n_heads": 2}},
    "hat": {"family": "hierarchical", "max_word_bytes": 12, "encoder": {"d_model": 16, "n_layers": 1, "n_heads": 2},
            "backbone": {"d_model": 32, "n_layers": 1, "n_heads": 2},
            "decoder": {"d_model": 16, "n_layers": 1, "n_heads": 2}},
    "spacebyte": {"family": "spacebyte", "attention_window": 16,
                  "encoder": {"d_model": 16, "n_layers": 1, "n_heads": 2},
                  "backbone": {"d_model": 32, "n_layers": 1, "n_heads": 2},
                  "decoder": {"d_model": 16, "n_layers": 1, "n_heads": 2}},
    "megabyte": {"family": "megabyte", "patch_size": 4, "backbone": {"d_model": 32, "n_layers": 1, "n_heads": 2},
                 "decoder": {"d_model": 16, "n_layers": 1, "n_heads": 2}},
    "hnet": {"family": "hnet", "target_chunk_bytes": 4, "encoder": {"d_model": 16, "n_layers": 1, "n_heads": 2},
             "backbone": {"d_model": 32, "n_layers": 1, "n_heads": 2},
             "decoder": {"d_model": 16, "n_layers": 1, "n_heads": 2}},
}


def iid_docs(n_docs: int, n_bytes: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(ALPHABET), size=n_bytes)) for _ in range(n_docs)]


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe([TEXT, *iid_docs(4, 4000, 9)], 300)


def build(name, tokenizer):
    torch.manual_seed(0)
    return build_model(model_config_from_dict(name, TINY[name]), tokenizer if name == "bpe" else None)


def test_scored_spans_tile_each_document_and_windows_hold_at_most_the_context():
    data = TEXT.encode()
    for context, stride in [(32, 16), (64, 32), (40, 40), (17, 5)]:
        windows = eval_windows([TEXT, "short", TEXT[:100]], context, stride)
        for d, text in enumerate([TEXT, "short", TEXT[:100]]):
            mine = [w for w in windows if w.doc == d]
            assert b"".join(w.data[w.score_from:] for w in mine) == text.encode()
            assert all(len(w.data) <= context and w.data.decode() for w in mine)  # whole characters only
            assert mine[0].score_from == 0 and all(w.score_from > 0 or stride == context for w in mine[1:])
            assert all(w.data == text.encode()[w.offset: w.offset + len(w.data)] for w in mine)
    with pytest.raises(ValueError, match="stride_bytes"):
        window_cuts(len(data), data, 32, 64)


def test_char_floor_reads_only_the_bytes_before_the_cut():
    data = "aé€😀b".encode()  # characters of 1, 2, 3, 4 bytes
    boundaries = {0, 1, 3, 6, 10, 11}
    for i in range(len(data) + 1):
        floor = char_floor(data, i)
        assert floor in boundaries and floor <= i and not any(floor < b <= i for b in boundaries)
        assert char_floor(data[:i] + b"\xff" * 3, i) == floor  # what follows i never matters


@pytest.mark.parametrize("name", list(TINY))
def test_changing_the_bytes_after_a_window_changes_neither_its_cut_nor_its_scores(name, tokenizer):
    model = build(name, tokenizer).eval()
    tok = tokenizer if name == "bpe" else None
    base = TEXT[:400]
    # BPE reads the document's own tokenization, which can re-split the word a cut falls in; so the
    # change starts after the first space past the window, where a token always ends
    changed = base[:300] + base[300:].replace(" ", "  X", 1).upper()
    a, b = eval_windows([base], 64, 32, tokenizer=tok), eval_windows([changed], 64, 32, tokenizer=tok)
    kept = [i for i, w in enumerate(a) if w.offset + len(w.data) <= 300]
    assert len(kept) >= 5 and all(a[i] == b[i] for i in kept)
    sa, sb = score_windows(model, [a[i] for i in kept], tok), score_windows(model, [b[i] for i in kept], tok)
    np.testing.assert_array_equal(sa.nll, sb.nll)


@pytest.mark.parametrize("name", list(TINY))
def test_the_context_is_read_but_not_scored_and_scores_add_up(name, tokenizer):
    """Scoring a document in windows with context counts every byte once, every byte's cost is
    non-negative, and the first window (no context before it) scores as its bytes read alone."""
    model = build(name, tokenizer).eval()
    tok = tokenizer if name == "bpe" else None
    windows = eval_windows([TEXT], 64, 16, tokenizer=tok)
    scores = score_windows(model, windows, tok)
    assert scores.n_bytes.sum() == len(TEXT.encode()) and np.all(scores.nll >= 0)
    # the first window scores its first 64 bytes exactly as the same bytes read alone
    alone = score_windows(model, [TEXT.encode()[: len(windows[0].data)]], tok)
    assert scores.nll[0] == pytest.approx(alone.nll[0], rel=1e-6)


def entropy_bound(bits: np.ndarray) -> float:
    """H - 3 sigma / sqrt(n) for per-byte losses ``bits``: 4 bits minus three standard errors of their mean."""
    return 4.0 - 3 * bits.std() / math.sqrt(len(bits))


def unigram_bits(train_windows, test_windows, context: int) -> np.ndarray:
    """Per scored byte, the bits of a model that knows the alphabet and the position inside the window
    (add-half counts per position over the alphabet)."""
    counts = np.full((context, 256), 1e-9)
    counts[:, np.frombuffer(ALPHABET.encode(), np.uint8)] = 0.5
    for w in train_windows:
        data = np.frombuffer(getattr(w, "data", w), np.uint8)
        np.add.at(counts, (np.arange(len(data)), data), 1)
    logp = np.log2(counts / counts.sum(1, keepdims=True))
    out = []
    for w in test_windows:
        data, start = np.frombuffer(getattr(w, "data", w), np.uint8), getattr(w, "score_from", 0)
        out.append(-logp[np.arange(start, len(data)), data[start:]])
    return np.concatenate(out)


@torch.no_grad()
def model_bits(model, windows, tokenizer) -> np.ndarray:
    """Per scored byte, the bits a model credits to it (a BPE token's at its last byte, 0 at the others)."""
    model.eval()
    out = []
    for i in range(0, len(windows), 16):
        batch = model.collate(windows[i: i + 16], tokenizer)
        lp = model(batch).byte_logprobs
        out.append((-lp[batch.score_mask] / math.log(2)).double().numpy())
    return np.concatenate(out)


def test_a_position_aware_unigram_beats_the_entropy_on_word_cut_windows_but_not_on_these():
    context, train, test = 64, iid_docs(20, 10000, 1), iid_docs(20, 10000, 2)
    sampler = WindowSampler(train, context, seed=0)
    train_windows = [w for _ in range(400) for w in sampler.sample(32)]
    new = unigram_bits(train_windows, eval_windows(test, context, context // 2), context)
    assert len(new) == sum(len(t) for t in test) and new.mean() >= entropy_bound(new)
    # the old cut: runs of whole words, so where a window ends depends on the next word's length
    old_train = [w for t in train for w in split_windows(t, context)]
    old = unigram_bits(old_train, [w for t in test for w in split_windows(t, context)], context)
    assert old.mean() < entropy_bound(old)


@pytest.mark.parametrize("name", list(TINY))
def test_no_family_scores_below_the_entropy_of_an_iid_source(name):
    """Every family trained briefly on 16 equiprobable symbols scores at least H - 3 sigma / sqrt(n)."""
    context, train, test = 64, iid_docs(8, 8000, 3), iid_docs(8, 4000, 4)
    tok = train_bpe(train, 300) if name == "bpe" else None
    torch.manual_seed(0)
    model = build_model(model_config_from_dict(name, TINY[name]), tok)
    sampler = WindowSampler(train, context, seed=0, tokenizer=tok)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(120):
        out = model(model.collate(sampler.sample(16), tok))
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    windows = eval_windows(test, context, context // 2, tokenizer=tok)
    bits = model_bits(model, windows, tok)
    assert len(bits) == sum(len(t) for t in test)
    assert bits.mean() == pytest.approx(score_windows(model, windows, tok).bpb, rel=1e-5)
    assert entropy_bound(bits) <= bits.mean() < 4.6  # near the entropy after brief training, never below it
