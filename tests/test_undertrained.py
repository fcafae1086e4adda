"""Under-trained token indicators: known AUCs on synthetic weights, counts from a real tokenizer."""

import numpy as np

from byteword.evaluation import undertrained
from conftest import SAMPLE


def test_auc_known_answers():
    positive = np.array([True, True, False, False])
    assert undertrained.roc_auc(np.array([4.0, 3.0, 2.0, 1.0]), positive) == 1.0
    assert undertrained.roc_auc(np.array([1.0, 2.0, 3.0, 4.0]), positive) == 0.0
    assert undertrained.roc_auc(np.array([1.0, 1.0, 1.0, 1.0]), positive) == 0.5


def test_indicators_separate_rows_left_small_from_the_rest():
    rng = np.random.default_rng(0)
    counts = np.array([0] * 20 + [100] * 80)
    unit = rng.normal(size=(100, 8))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    inputs = unit * np.where(counts == 0, 0.1, 1.0)[:, None]  # unseen rows decayed by weight decay
    outputs = unit * np.where(counts == 0, 3.0, 1.0)[:, None]  # unseen rows pushed out by the softmax
    table = undertrained.score_indicators(undertrained.indicators(inputs, outputs), counts, n_resamples=50)
    assert set(table["threshold"]) == {0, 5, 20}  # all three thresholds split these counts the same way
    assert (table["value"] == 1.0).all() and (table["n_positive"] == 20).all()
    assert (table["ci_low"] <= table["value"]).all()


def test_seen_windows_replay_exactly_what_training_reads(tokenizer):
    from byteword.data import WindowSampler, seen_windows

    texts = [SAMPLE * 4, SAMPLE.upper() * 3]
    seen = seen_windows(texts, 48, batch_size=4, train_bytes=1000, seed=5, tokenizer=tokenizer)
    sampler, drawn, total = WindowSampler(texts, 48, 5, tokenizer), [], 0
    while total < 1000:  # the training loop's own condition
        batch = sampler.sample(4)
        drawn += batch
        total += sum(len(w.data) for w in batch)
    assert seen == drawn and len(seen) % 4 == 0


def test_a_single_class_gives_no_row():
    table = undertrained.score_indicators({"s": np.arange(5.0)}, np.full(5, 100), n_resamples=10)
    assert table.empty
