"""Next-word accuracy: buckets partition counts, positions are well formed and seeded, known scores."""

import math
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from torch import nn

from byteword.data import collate
from byteword.evaluation.next_word import (BUCKETS, bucket_of, next_word_positions, next_word_tables, position_rows,
                                           score_positions, word_counts)

TEXT = ("The river flows past the old mill, and the miller counts sacks of grain every morning. "
        "Зимата идва рано в планината и снегът покрива селото. ") * 6


def test_buckets_partition_every_count():
    for count in range(0, 1000):
        assert sum(low <= count and (high is None or count <= high) for _, low, high in BUCKETS) == 1
        assert bucket_of(count) in {name for name, *_ in BUCKETS}
    assert [bucket_of(c) for c in (0, 1, 10, 11, 100, 101)] == ["unseen", "1-10", "1-10", "11-100", "11-100", ">100"]
    with pytest.raises(ValueError, match="negative"):
        bucket_of(-1)


def test_positions_hold_the_word_its_ending_space_and_a_fixed_context():
    counts = word_counts([TEXT[: len(TEXT) // 2]])
    assert counts["the"] == 6 and counts["The"] == 3  # case kept, leading space stripped
    positions = next_word_positions([TEXT], counts, context_bytes=64, max_word_bytes=12, per_bucket=1000)
    assert len(positions) > 50 and set(positions.bucket) <= {"1-10", "unseen"}
    for row in positions.itertuples():
        data = row.window.data
        assert data[row.start : row.end].decode("utf-8") == " " + row.word
        assert data[row.end : row.end + 1] == b" " and len(data) == row.end + 1
        assert row.start <= 64 - 12 - 1 and row.start >= 64 - 12 - 1 - 3  # moved only to a character start
        data.decode("utf-8")  # never cut inside a character
        assert row.bucket == bucket_of(counts.get(row.word, 0))
    again = next_word_positions([TEXT], counts, 64, 12, per_bucket=5, seed=3)
    assert again.equals(next_word_positions([TEXT], counts, 64, 12, per_bucket=5, seed=3))
    assert again.bucket.value_counts().max() == 5


def test_bpe_tokens_start_and_end_with_the_word(make_model, tokenizer):
    model = make_model("bpe").eval()
    positions = next_word_positions([TEXT], word_counts([TEXT]), 64, 12, per_bucket=1000, tokenizer=tokenizer)
    assert all(w.token_ids is not None and w.token_ends[-1] == len(w.data) for w in positions.window)
    with torch.no_grad():
        out = model(collate(list(positions.window), "bpe", tokenizer))
    rows = torch.arange(len(positions))
    assert out.boundaries[rows, torch.tensor(positions.start.values)].all()
    assert out.boundaries[rows, torch.tensor(positions.end.values)].all()  # a token opens the next word


class Oracle(nn.Module):
    """Stands in for a model whose every prediction is the top choice."""

    def collate(self, windows, tokenizer=None):
        return collate(windows, "bytes")

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, batch):
        hit = torch.ones_like(batch.byte_mask)
        return SimpleNamespace(byte_hit=hit, start_hit=hit, byte_mask=batch.byte_mask,
                               byte_logprobs=torch.zeros(hit.shape))


def tables_of(*runs, n_resamples=50):
    """next_word_tables over scored positions given as (model, seed, scored)."""
    rows = pd.concat([position_rows(scored).assign(model=model, seed=seed) for model, seed, scored in runs])
    return next_word_tables(rows, n_resamples=n_resamples)


@pytest.mark.parametrize("kind", ["bytes", "bpe", "hat", "hnet"])
def test_a_model_that_always_hits_scores_one_and_a_zero_head_scores_zero(make_model, tokenizer, kind):
    positions = next_word_positions([TEXT, TEXT[::-1]], word_counts([TEXT]), 64, 12, per_bucket=1000,
                                    tokenizer=tokenizer if kind == "bpe" else None)
    perfect, _ = tables_of(("oracle", "0", score_positions(Oracle(), positions)))
    perfect = perfect.dropna(subset="value")
    hits, bits = perfect[perfect.metric != "word_bpb"], perfect[perfect.metric == "word_bpb"]
    assert len(hits) and hits.value.to_numpy() == pytest.approx(1.0)
    resampled = hits.dropna(subset="ci_low")  # buckets whose positions come from both articles
    assert len(resampled) and resampled[["ci_low", "ci_high"]].to_numpy() == pytest.approx(1.0)
    assert (bits.value == 0).all()  # log-likelihood 0: certain of every byte
    model = make_model(kind)
    with torch.no_grad():
        model.head.weight.zero_()
    scored = score_positions(model, positions, tokenizer)
    assert not scored.next_word.any() and not scored.word_bytes.any()
    # uniform predictions: a byte model makes one 256-way guess per byte of the word; HAT (words of at most
    # 8 bytes here) guesses among 257 for the previous word's end and for each byte of the word
    n = (scored.end - scored.start).to_numpy()
    if kind in ("bytes", "hnet"):
        assert scored.nll.to_numpy() == pytest.approx(n * math.log(256), rel=1e-5)
        table, _ = tables_of(("uniform", "0", scored), n_resamples=20)
        bits = table[table.metric == "word_bpb"].value.dropna()
        assert len(bits) and bits.to_numpy() == pytest.approx(8.0, abs=1e-4)
    if kind == "hat":
        short = n <= 8
        assert short.sum() > 10
        assert scored.nll.to_numpy()[short] == pytest.approx((n[short] + 1) * math.log(257), rel=1e-5)
    assert model.training  # the evaluation mode it switched to is undone


def test_next_word_intervals_resample_articles_and_pair_the_models():
    # two articles, each a run of the same hit: an article bootstrap can draw either article twice, so
    # its interval spans [0, 1]; a position bootstrap would give a narrow one around 0.5
    rows = pd.DataFrame({"position": range(40), "doc": [0] * 20 + [1] * 20, "bucket": ">100", "word": "w",
                         "count": 200, "n_bytes": 2, "next_word": [True] * 20 + [False] * 20,
                         "word_bytes": True, "nll": 1.0})
    runs = pd.concat([rows.assign(model="a", seed="0"), rows.assign(model="b", seed="0", nll=3.0)])
    table, paired = next_word_tables(runs, n_resamples=200)
    top = table[(table.bucket == ">100") & (table.metric == "next_word")].set_index("model")
    assert top.loc["a", "value"] == pytest.approx(0.5) and top.loc["a", "ci_low"] == 0 and top.loc["a", "ci_high"] == 1
    assert set(table.bucket) == {name for name, *_ in BUCKETS} and table[table.n == 0].value.isna().all()
    assert table.set_index(["model", "bucket", "metric"]).loc[("a", ">100", "word_bytes"), "value"] == pytest.approx(1)
    pair = paired[(paired.metric == "word_bpb") & (paired.model_a == "b")].iloc[0]
    # b pays 2 nats more on every 2-byte word: exactly 1 nat per byte, in every resample of the articles
    assert pair[["value", "ci_low", "ci_high"]].to_numpy(float) == pytest.approx(1 / math.log(2))
    same = paired[(paired.metric == "next_word") & (paired.model_a == "b")].iloc[0]
    assert same.value == 0 and same.ci_low == 0 and same.ci_high == 0  # the same hits: exactly [0, 0]
