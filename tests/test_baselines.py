"""Known answers for the baselines: the Kneser–Ney byte n-gram (normalisation, a hand-worked case, the
entropy rate of a Markov source, order choice) and the compressors conditioned on a window's context."""

import math

import numpy as np
import pytest

from byteword.data import Window, eval_windows
from byteword.evaluation.compressors import CONDITIONED, conditioned_bits, ppmd_bpb
from byteword.evaluation.ngram import NgramModel, choose_order

ALPHABET = np.frombuffer(b"acgt", dtype=np.uint8)


def markov_source(seed: int = 0, concentration: float = 0.4) -> tuple[np.ndarray, float]:
    """A random order-2 transition table over 4 symbols, (4, 4, 4) [prev2, prev1, next], and its exact
    entropy rate in bits per symbol: sum over states of stationary probability * entropy of the row."""
    rng = np.random.default_rng(seed)
    table = rng.dirichlet([concentration] * 4, size=(4, 4))
    moves = np.zeros((16, 16))  # state (a, b) -> (b, c) with probability table[a, b, c]
    for a in range(4):
        for b in range(4):
            moves[4 * a + b, 4 * b : 4 * b + 4] = table[a, b]
    stationary = np.full(16, 1 / 16)
    for _ in range(2000):
        stationary = stationary @ moves
    row_entropy = -(table * np.log2(table)).sum(-1).ravel()  # (16,)
    return table, float(stationary @ row_entropy)


def sample_markov(table: np.ndarray, n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(table, -1).tolist()
    u = rng.random(n).tolist()
    out, a, b = [], 0, 1
    for x in u:
        row = cumulative[a][b]
        c = 0 if x < row[0] else 1 if x < row[1] else 2 if x < row[2] else 3
        out.append(c)
        a, b = b, c
    return ALPHABET[np.array(out)].tobytes()


def sample_iid(n: int, seed: int) -> bytes:
    return ALPHABET[np.random.default_rng(seed).choice(4, size=n, p=[0.5, 0.25, 0.15, 0.1])].tobytes()


def text_sample(n_words: int = 2000, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    words = ["the", "of", "byte", "model", "window", "context", "counts", "Kneser", "Ney", "é", "日本"]
    return " ".join(rng.choice(words, size=n_words)).encode("utf-8")


@pytest.fixture(scope="module")
def text_model() -> NgramModel:
    data = text_sample()
    return NgramModel.fit([data[i : i + 300] for i in range(0, len(data), 300)], 8)


# --- n-gram -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("context", [b"", b"the ", b"the model", b"counts of the window ", b"\xff\xfe\x00",
                                     b"zzzz the", "日本".encode("utf-8")])
def test_ngram_probabilities_sum_to_one_and_stay_positive(text_model, order, context):
    p = text_model.truncated(order).distribution(context)
    assert p.shape == (256,)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert p.min() > 0


def test_ngram_hand_worked_kneser_ney():
    # chunks "ab" x3 and "cb": too few counts of counts, so the discounts are 0.5, 1, 1.5.
    # Unigram KN counts (distinct symbols before): a 1 (BOS), c 1 (BOS), b 2 (a and c), total 4,
    # handing (0.5 + 0.5 + 1) / 4 = 0.5 to the uniform 1/256.
    model = NgramModel.fit([b"ab"] * 3 + [b"cb"], 2)
    floor = 0.5 / 256
    p1 = model.distribution(b"z")  # an unseen context: the unigram alone
    assert p1[ord("a")] == pytest.approx(0.5 / 4 + floor)
    assert p1[ord("c")] == pytest.approx(0.5 / 4 + floor)
    assert p1[ord("b")] == pytest.approx(1 / 4 + floor)
    assert p1[ord("z")] == pytest.approx(floor)
    # context "a": b seen 3 times (raw counts at the top order), discount 1.5, handing 1.5 / 3 down
    p2 = model.distribution(b"a")
    assert p2[ord("b")] == pytest.approx((3 - 1.5) / 3 + 0.5 * p1[ord("b")])
    assert p2[ord("a")] == pytest.approx(0.5 * p1[ord("a")])
    # the start of a window is a context of its own: (BOS) -> a 3 times, c once, handing 2 / 4 down
    p0 = model.distribution(b"")
    assert p0[ord("a")] == pytest.approx((3 - 1.5) / 4 + 0.5 * p1[ord("a")])
    assert p0[ord("c")] == pytest.approx((1 - 0.5) / 4 + 0.5 * p1[ord("c")])
    # one order up, (BOS, BOS) -> a 3, c 1 again; the order-2 level below keeps raw counts for its
    # BOS context (nothing precedes a chunk start) instead of continuation counts (1 each)
    p0_order3 = NgramModel.fit([b"ab"] * 3 + [b"cb"], 3).distribution(b"")
    assert p0_order3[ord("a")] == pytest.approx((3 - 1.5) / 4 + 0.5 * p0[ord("a")])


def test_ngram_scores_only_inside_the_window(text_model):
    model = text_model.truncated(4)
    data = text_sample(200, seed=3)
    logp = model.logprobs(data)
    assert logp.shape == (len(data),)
    assert logp[0] == pytest.approx(math.log(model.distribution(b"")[data[0]]))  # a window starts fresh
    for i in (1, 2, 3, 17, len(data) - 1):
        assert logp[i] == pytest.approx(math.log(model.distribution(data[:i])[data[i]]))
    np.testing.assert_allclose(model.logprobs(data, 50), logp[50:])
    windows = [Window(data[:100], 0), Window(data[40:180], 60), Window(data[150:], 30)]
    expected = [-model.logprobs(w.data, w.score_from).sum() for w in windows]
    np.testing.assert_allclose(model.window_nll(windows), expected)
    np.testing.assert_allclose(model.window_nll(windows, max_bytes_per_batch=64), expected)


def test_ngram_reaches_the_entropy_rate_of_a_markov_source():
    table, entropy = markov_source()
    model = NgramModel.fit([sample_markov(table, 200_000, seed=1)], 3)
    fresh = [sample_markov(table, 25_000, seed=s).decode() for s in (2, 3)]
    bpb = model.bpb(eval_windows(fresh, 64, 32))
    assert 1.0 < entropy < 1.8  # a source neither trivial nor uniform
    assert entropy - 0.015 < bpb < entropy + 0.02  # ~0.005 bits of sampling noise on 50 KB


def test_choose_order_finds_the_markov_order():
    table, _ = markov_source()
    markov, markov_bpb = choose_order([sample_markov(table, 40_000, seed=4)],
                                      eval_windows([sample_markov(table, 8_000, seed=5).decode()], 64, 32))
    iid, iid_bpb = choose_order([sample_iid(40_000, seed=4)], eval_windows([sample_iid(8_000, seed=5).decode()], 64, 32))
    assert sorted(markov_bpb) == list(range(1, 9))
    assert markov.order >= 3 > iid.order
    assert markov_bpb[markov.order] == min(markov_bpb.values())
    assert markov_bpb[3] < markov_bpb[2] - 0.1  # the third byte of context is what the source uses


@pytest.mark.parametrize("name", sorted(CONDITIONED))
def test_conditioned_costs_telescope_to_the_whole_document(name):
    doc = text_sample(600, seed=1)
    cuts = [0, 1, 100, 101, 900, 2000, len(doc)]
    windows = [Window(doc[:end], start) for start, end in zip(cuts, cuts[1:])]  # context: the whole prefix
    compress = CONDITIONED[name](windows)
    bits = conditioned_bits(windows, name)
    assert bits.dtype == np.int64
    assert int(bits.sum()) == 8 * (len(compress(doc)) - len(compress(b"")))


@pytest.mark.parametrize("name", sorted(CONDITIONED))
def test_a_span_repeating_its_context_costs_under_a_bit_per_byte(name):
    rng = np.random.default_rng(0)
    context = rng.choice(ALPHABET, size=600).tobytes()
    fresh, repeat = conditioned_bits([Window(context + rng.choice(ALPHABET, size=600).tobytes(), 600),
                                      Window(context + context, 600)], name)
    assert repeat < 600 < fresh  # a fresh span of 4 symbols costs about 2 bits per byte


def test_ppmd_whole_text_row():
    row = ppmd_bpb(text_sample())
    assert row["compressor"] == "ppmd" and row["level"] == 6
    assert row["bpb"] == pytest.approx(8 * row["compressed_bytes"] / row["n_bytes"])
    assert row["bpb"] < 1.0  # 11 words drawn uniformly: log2(11) bits per ~5.5-byte word, plus learning
