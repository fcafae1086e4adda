"""Character-level perturbations: seeded, reproducible, identity at rate 0, known answers."""

import math

import pytest

from byteword.evaluation import noise

TEXT = "The quick brown fox jumps over the lazy dog. Привет, мир! 42 apples."


@pytest.mark.parametrize("fn", [noise.drop_characters, noise.random_case, noise.repeat_characters, noise.word_noise])
def test_rate_zero_is_the_identity(fn):
    assert fn(TEXT, 0.0, seed=3) == TEXT


@pytest.mark.parametrize("name", list(noise.PERTURBATIONS))
def test_perturbations_are_seeded_and_reproducible(name):
    assert noise.perturb(TEXT, name, seed=1) == noise.perturb(TEXT, name, seed=1)
    if name not in ("all_caps", "ant_speak"):  # the two without randomness
        assert noise.perturb(TEXT, name, seed=1) != noise.perturb(TEXT, name, seed=2)


def test_known_answers():
    assert noise.ant_speak("ab c") == "A B   C"
    assert noise.all_caps("ab c, мир") == "AB C, МИР"
    assert noise.drop_characters("abc", 1.0) == ""
    assert noise.random_case("aBc", 1.0) == "ABC"
    assert set(noise.repeat_characters("ab", 1.0, max_copies=2)) == {"a", "b"}
    assert noise.repeat_characters("ab", 1.0, max_copies=2) == "aabb"


def test_word_noise_changes_each_chosen_word_by_one_edit():
    words = ("alpha beta gamma delta " * 20).split()
    noisy = noise.word_noise(" ".join(words), 1.0, seed=0).split()
    assert len(noisy) == len(words)
    for clean, dirty in zip(words, noisy):
        assert dirty != clean and abs(len(dirty) - len(clean)) <= 1
        if len(dirty) == len(clean):  # a swap or a substitution: same letters moved, or one letter changed
            diff = [i for i, (a, b) in enumerate(zip(clean, dirty)) if a != b]
            assert len(diff) == 1 or (len(diff) == 2 and sorted(clean) == sorted(dirty))


def test_rates_roughly_hold_on_long_text():
    text = "abcdefghij" * 1000
    assert 0.08 < 1 - len(noise.drop_characters(text, 0.1)) / len(text) < 0.12
    words = ("word " * 2000).split()
    changed = sum(a != b for a, b in zip(words, noise.word_noise(" ".join(words), 0.2).split()))
    assert 0.17 < changed / len(words) < 0.23


def test_unknown_perturbation_is_named():
    with pytest.raises(ValueError, match="typo_storm"):
        noise.perturb(TEXT, "typo_storm")


def test_noise_scores_clean_exactly_and_perturbed_on_their_own_bytes(make_model):
    from byteword.data import eval_windows
    from byteword.evaluation.bpb import score_windows

    model = make_model("bytes")
    sources = [TEXT * 3, TEXT, TEXT * 2, TEXT * 2, TEXT]
    docs = noise.noise_documents(sources, total_bytes=500, doc_bytes=200)
    sizes = [len(d.encode()) for d in docs]  # prefixes of documents, up to the total, cut at a character
    assert all(s.startswith(d) for s, d in zip(sources, docs)) and max(sizes) <= 200 and 496 < sum(sizes) <= 500
    table, windows = noise.score_noise(model, docs, ["ant_speak", "word_noise_20"], 40, 20, n_resamples=20)
    table = table.set_index("perturbation")
    clean = score_windows(model, eval_windows(docs, 40, 20)).bpb
    assert table.loc["clean", "value"] == clean  # rate 0 = the clean numbers exactly
    assert (table["metric"] == "bpb").all()
    ant = sum(len(noise.ant_speak(d).encode()) for d in docs)
    assert table.loc["ant_speak", "n_bytes"] == ant  # scored on the perturbed bytes, each once
    # the per-window rows add up to the table, and every perturbation scores the same documents
    sums = windows.groupby("perturbation", sort=False)[["nll_nats", "n_bytes"]].sum()
    assert (sums["nll_nats"] / (math.log(2) * sums["n_bytes"])).to_numpy() == pytest.approx(table["value"].to_numpy())
    assert windows.groupby("perturbation")["doc"].nunique().eq(len(docs)).all()


def test_every_reader_gets_the_same_perturbed_documents():
    docs = [TEXT, TEXT[::-1]]
    once, again = noise.perturbed_documents(docs, ["word_noise_20"], 5), noise.perturbed_documents(docs, ["word_noise_20"], 5)
    assert once == again and once["clean"] == docs and list(once) == ["clean", "word_noise_20"]
    assert once["word_noise_20"][0] == noise.perturb(TEXT, "word_noise_20", seed=5)  # document i: seed + i
    assert once["word_noise_20"][1] == noise.perturb(TEXT[::-1], "word_noise_20", seed=6)
