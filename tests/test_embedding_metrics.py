"""Known answers for the embedding evaluations: analogies, probes, geometry, typo robustness."""

import random
import string

import numpy as np
import pandas as pd
import pytest

from byteword.datasets import load_analogies, load_polarity
from byteword.evaluation.analogy import analogy_accuracy, analogy_by_section
from byteword.evaluation.bootstrap import mean_ci, resample_counts
from byteword.evaluation.geometry import (anisotropy, intrinsic_dimension, intrinsic_dimension_ci, typo_robustness,
                                          typo_scores)
from byteword.evaluation.probes import (bag_of_bytes, character_probe, lemma_groups, random_control, sentence_probe,
                                        split_by_group)


def random_words(n, seed=0):
    rng = random.Random(seed)
    words = {"".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9))) for _ in range(n)}
    return sorted(words)


# --- analogy ---------------------------------------------------------------------------------------

def perfect_analogies(n_pairs=6):
    """Capital/country pairs built from one-hot parts: every vector has norm √2, so b - a + c = d exactly."""
    dim = n_pairs + 2
    eye = np.eye(dim, dtype=np.float32)
    capital, country = eye[n_pairs], eye[n_pairs + 1]
    vectors = {}
    for i in range(n_pairs):
        vectors[f"City{i}"] = eye[i] + capital
        vectors[f"Land{i}"] = eye[i] + country
    rows = [("capitals", f"City{i}", f"Land{i}", f"City{j}", f"Land{j}")
            for i in range(n_pairs) for j in range(n_pairs) if i != j]
    return pd.DataFrame(rows, columns=["section", "a", "b", "c", "d"]), vectors


def test_perfect_analogies_score_one():
    questions, vectors = perfect_analogies()
    result = analogy_accuracy(questions, vectors, n_resamples=200)
    assert result == {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n_questions": 30, "coverage": 1.0}


def test_analogy_coverage_counts_missing_words():
    questions, vectors = perfect_analogies()
    del vectors["Land5"]                       # 5 questions have d = Land5, 5 have b = Land5
    result = analogy_accuracy(questions, vectors, n_resamples=200)
    assert result["n_questions"] == 20
    assert result["coverage"] == pytest.approx(20 / 30)
    assert result["value"] == 1.0


def test_analogy_excludes_question_words_and_can_fail():
    questions, vectors = perfect_analogies()
    # Move Land1 away from where b - a + c points: questions asking for Land1 fail, the rest still pass.
    vectors["Land1"] = -vectors["Land1"]
    result = analogy_accuracy(questions, vectors, n_resamples=200)
    asking_land1 = (questions.d == "Land1").sum()
    assert asking_land1 == 5
    assert result["value"] < 1.0
    sections = analogy_by_section(questions, vectors, n_resamples=200)
    assert list(sections.section) == ["capitals"] and sections.value[0] == pytest.approx(result["value"])


def test_load_analogies():
    questions = load_analogies()
    assert list(questions.columns) == ["section", "a", "b", "c", "d"]
    assert questions.section.nunique() == 14
    assert len(questions) == 19544
    assert questions.iloc[0].tolist() == ["capital-common-countries", "Athens", "Greece", "Baghdad", "Iraq"]


# --- character probe --------------------------------------------------------------------------------

def test_split_by_group_keeps_groups_whole_and_is_deterministic():
    words = ["walk", "walked", "walking", "Walks", "run", "ran", "running", "cat", "cats", "dog", "dogs", "house"]
    groups = lemma_groups(words)
    assert groups[0] == groups[1] == groups[3]
    is_test = split_by_group(groups, test_fraction=0.4, seed=3)
    assert np.array_equal(is_test, split_by_group(groups, test_fraction=0.4, seed=3))
    for g in set(groups):
        sides = {bool(t) for t, h in zip(is_test, groups) if h == g}
        assert len(sides) == 1
    assert 0 < is_test.sum() < len(words)
    many = [f"g{i % 50}" for i in range(500)]
    assert split_by_group(many, 0.3, seed=0).sum() == 150          # 15 of 50 groups, 10 words each


@pytest.fixture(scope="module")
def probe_words():
    return random_words(800)


def letter_vectors(words, seed=0):
    """26 letter-indicator dimensions plus noise: spelling is linearly readable."""
    rng = np.random.default_rng(seed)
    indicators = np.array([[c in w for c in string.ascii_lowercase] for w in words], dtype=np.float32)
    return np.hstack([indicators, rng.standard_normal((len(words), 6))]) + 0.1 * rng.standard_normal((len(words), 32))


def test_character_probe_reads_letters_and_random_control_is_near_chance(probe_words):
    encoded = character_probe(probe_words, letter_vectors(probe_words), n_resamples=200)
    control = character_probe(probe_words, random_control(probe_words, 32, seed=1), n_resamples=200)
    assert list(encoded.columns) == ["letter", "metric", "value", "ci_low", "ci_high", "n_train", "n_test",
                                     "test_positive_rate"]
    assert len(encoded) == 27 and encoded.letter.iloc[-1] == "macro" and (encoded.metric == "f1").all()
    macro, chance = encoded.iloc[-1], control.iloc[-1]
    assert macro.value > 0.95 and macro.ci_low <= macro.value <= macro.ci_high
    assert chance.value < 0.45 and chance.ci_high < macro.ci_low
    assert macro.n_train + macro.n_test == len(probe_words)


def test_character_probe_skips_letters_without_both_classes(probe_words):
    words = [w.replace("q", "k") for w in probe_words]      # no word contains q
    result = character_probe(words, letter_vectors(words), letters="aqz", n_resamples=50)
    assert result.letter.tolist() == ["a", "z", "macro"]


def test_random_control_is_seeded():
    assert np.array_equal(random_control(["a", "b"], 4, seed=2), random_control(["a", "b"], 4, seed=2))
    assert random_control(["a", "b", "c"], 5).shape == (3, 5)


# --- sentence probe ---------------------------------------------------------------------------------

def test_load_polarity_and_bag_of_bytes():
    data = load_polarity()
    assert len(data) == 200 and set(data.label) == {0, 1}
    assert not data.text.str.startswith("__label__").any()
    assert data.text.str.contains("clichés").any()          # Windows-1252 decoded, not mangled
    bags = bag_of_bytes(data.text.tolist() + ["Привет"])
    assert bags.shape == (201, 256)
    np.testing.assert_allclose(bags.sum(1), 1.0, rtol=1e-5)
    assert bag_of_bytes(["aab"])[0, ord("a")] == pytest.approx(2 / 3)


def test_sentence_probe_separable_features_score_one():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 60)
    X = rng.standard_normal((120, 8))
    X[:, 0] += 6 * labels                               # one dimension separates the classes
    result = sentence_probe(X, labels, n_resamples=200)
    assert result["value"] == 1.0 and result["ci_low"] == 1.0 and result["n"] == 120
    noise = sentence_probe(rng.standard_normal((120, 8)), labels, n_resamples=200)
    assert noise["value"] < 0.75


# --- geometry ---------------------------------------------------------------------------------------

def test_bootstrap_interval_of_a_constant_is_a_point():
    assert mean_ci(np.full(50, 0.7)) == pytest.approx({"value": 0.7, "ci_low": 0.7, "ci_high": 0.7, "n": 50})


def test_resample_counts_match_resample_indices():
    counts = resample_counts(7, n_resamples=5, seed=1)
    assert counts.shape == (5, 7) and (counts.sum(1) == 7).all()


def test_anisotropy_of_identical_and_orthonormal_vectors():
    same = anisotropy(np.tile([[1.0, 2.0, 3.0]], (40, 1)), n_resamples=200)
    assert same["value"] == pytest.approx(1.0)
    assert same["ci_low"] == pytest.approx(1.0) and same["ci_high"] == pytest.approx(1.0)
    ortho = anisotropy(3 * np.eye(20), n_resamples=200)
    assert ortho["value"] == pytest.approx(0.0, abs=1e-12)
    assert ortho["ci_low"] == pytest.approx(0.0, abs=1e-12) and ortho["ci_high"] == pytest.approx(0.0, abs=1e-12)


def test_anisotropy_matches_gram_matrix():
    X = np.random.default_rng(0).standard_normal((30, 5)) + 0.5
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    G = U @ U.T
    expected = (G.sum() - np.trace(G)) / (30 * 29)
    assert anisotropy(X, n_resamples=50)["value"] == pytest.approx(expected)


def test_twonn_on_a_plane_and_a_gaussian():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((10, 2)))              # (10, 2) orthonormal columns
    plane = rng.uniform(size=(2000, 2)) @ basis.T                       # a 2-D square inside 10-D
    assert intrinsic_dimension(plane) == pytest.approx(2.0, abs=0.25)
    assert intrinsic_dimension(plane, method="fit") == pytest.approx(2.0, abs=0.25)
    gauss = rng.standard_normal((2000, 5))
    assert intrinsic_dimension(gauss) == pytest.approx(5.0, abs=0.6)
    ci = intrinsic_dimension_ci(gauss, n_resamples=200)
    assert ci["ci_low"] < ci["value"] < ci["ci_high"] and ci["n"] == 2000
    duplicated = np.vstack([plane, plane[:100]])                        # duplicates are merged, not r1 = 0
    assert intrinsic_dimension(duplicated) == pytest.approx(intrinsic_dimension(plane))


def test_typo_robustness_identity_and_noise():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    clean = {w: rng.standard_normal(16).astype(np.float32) for w in words}
    same = pd.DataFrame({"word": words + ["unknown"], "variant": [w + "x" for w in words] + ["?"],
                         "vector": [clean[w] for w in words] + [np.ones(16, np.float32)]})
    result = typo_robustness(clean, same, n_resamples=200)
    assert result["cosine"] == pytest.approx(1.0) and result["cosine_ci_low"] == pytest.approx(1.0)
    assert result["mean_rank"] == 1.0 and result["top1"] == 1.0
    assert abs(result["random_cosine"]) < 0.2
    assert result["n_variants"] == 50 and result["coverage"] == pytest.approx(50 / 51) and result["n_words"] == 50
    far = same.iloc[:50].assign(vector=[-clean[w] for w in words])     # opposite vectors: worst rank
    scores = typo_scores(clean, far)
    assert (scores["rank"] == 50).all() and scores.cosine.to_numpy() == pytest.approx(-1.0)
    assert list(scores.columns) == ["word", "variant", "cosine", "random_cosine", "rank"]
