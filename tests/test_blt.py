"""BLT's own known answers: the entropy threshold hits its target patch length, patches are causal through
the entropy model's boundaries, the entropy model is frozen, counted in FLOPs and in the config hash, the
hash n-gram tables are embedding parameters, and a saved model carries its entropy model and θ."""

import dataclasses
import math

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from byteword.flops import forward_flops
from byteword.models import ConfigError, build_model, model_config_from_dict, param_counts
from byteword.models.blt import HASH_NGRAMS, hash_ngram_ids
from byteword.record import TrainConfig
from byteword.train import TrainJob
from conftest import FAMILY_ENTRIES, SAMPLE

TEXT = SAMPLE.encode()
WINDOWS = [TEXT[i: i + 64] for i in range(0, 240, 16)]
HELD_OUT = [TEXT[i: i + 64] for i in range(8, 248, 16)]


def blt(kind="blt", target=3.0, **overrides):
    torch.manual_seed(0)
    entry = {**FAMILY_ENTRIES[kind], "target_patch_bytes": target, **overrides}
    model = build_model(model_config_from_dict(kind, entry)).eval()
    with torch.no_grad():  # an untrained entropy model is nearly uniform: give it entropies that vary
        model.entropy.head.weight.normal_(0, 1.0)
    return model


def mean_patch_bytes(model, windows) -> float:
    batch = model.collate(windows)
    with torch.no_grad():
        return int(batch.byte_mask.sum()) / int(model.patch_starts(batch.bytes, batch.byte_mask).sum())


@pytest.mark.parametrize("kind", ["blt", "blt_hash"])  # global and monotonic (rise) rules
@pytest.mark.parametrize("target", [2.0, 3.0, 5.0])
def test_the_threshold_search_hits_its_target_patch_length(kind, target):
    model = blt(kind, target)
    model.fit_to_training_split(WINDOWS)
    assert math.isfinite(float(model.threshold))
    n_bytes = sum(len(w) for w in WINDOWS)
    k = round(n_bytes / target) - len(WINDOWS)  # starts beyond each window's first byte
    assert mean_patch_bytes(model, WINDOWS) == pytest.approx(n_bytes / (len(WINDOWS) + k), abs=1e-9)
    assert mean_patch_bytes(model, HELD_OUT) == pytest.approx(target, rel=0.2)  # windows it was not fitted on


def test_patches_start_exactly_where_a_known_entropy_is_high(monkeypatch):
    model = blt(target=4.0)
    # a source whose next-byte entropy is known: 2 nats before every 4th byte, 0.5 elsewhere
    monkeypatch.setattr(model, "statistic", lambda x: torch.where(torch.arange(x.shape[1]) % 4 == 0, 2.0, 0.5)
                        .expand(x.shape[0], -1))
    model.fit_to_training_split([bytes(64)] * 4)
    assert 0.5 < float(model.threshold) < 2.0
    starts = model.patch_starts(torch.zeros(1, 64, dtype=torch.long), torch.ones(1, 64, dtype=torch.bool))
    assert starts[0].nonzero()[:, 0].tolist() == list(range(0, 64, 4))


def test_a_target_beyond_the_window_keeps_one_patch_per_window():
    model = blt(target=1000.0)
    model.fit_to_training_split(WINDOWS)
    assert float(model.threshold) == math.inf and mean_patch_bytes(model, WINDOWS) == 64


@pytest.mark.parametrize("kind", ["blt", "blt_hash"])
@pytest.mark.parametrize("cut", [5, 17, 40])
def test_a_later_byte_moves_no_earlier_boundary_and_no_earlier_score(kind, cut):
    model = blt(kind)
    model.fit_to_training_split(WINDOWS)
    a = bytearray(TEXT[:64])
    b = bytearray(a)
    b[cut:] = b"#zq~" * 16
    b = b[:64]
    with torch.no_grad():
        out_a, out_b = (model(model.collate([bytes(w)])) for w in (a, b))
    # byte t's boundary reads bytes < t, so positions <= cut keep theirs; scores before cut are equal
    assert torch.equal(out_a.boundaries[0, :cut + 1], out_b.boundaries[0, :cut + 1])
    torch.testing.assert_close(out_a.byte_logprobs[0, :cut], out_b.byte_logprobs[0, :cut], rtol=0, atol=1e-5)
    assert not torch.equal(out_a.boundaries[0], out_b.boundaries[0])  # the change did move later boundaries
    assert 1 < int(out_a.boundaries.sum()) < 64  # patches of many lengths, not one per byte


@pytest.mark.parametrize("kind", ["blt", "blt_hash"])
def test_analytic_flops_of_fitted_patches_match_the_counted_matmuls_entropy_model_included(kind):
    entry = {k: v for k, v in FAMILY_ENTRIES[kind].items() if k != "attention_window"}
    model = build_model(model_config_from_dict(kind, entry)).eval()
    with torch.no_grad():
        model.entropy.head.weight.normal_(0, 1.0)
    model.fit_to_training_split(WINDOWS)
    counted = entropy_counted = 0
    for window in WINDOWS[:3]:
        batch = model.collate([window])
        with sdpa_kernel(SDPBackend.MATH), torch.no_grad():
            with FlopCounterMode(display=False) as counter:
                model(batch)
            counted += counter.get_total_flops()
            with FlopCounterMode(display=False) as counter:
                model.statistic(batch.bytes)
            entropy_counted += counter.get_total_flops()
    analytic, _ = forward_flops(model, WINDOWS[:3])
    assert analytic == pytest.approx(counted, rel=1e-6)
    entropy_analytic = sum(model.entropy.analytic_flops(model.collate([w])) for w in WINDOWS[:3])
    assert entropy_analytic == pytest.approx(entropy_counted, rel=1e-6) and entropy_analytic > 0.05 * analytic


def test_sizing_counts_flops_at_the_target_patch_length():
    model = blt(target=4.0)  # unfitted: every byte its own patch
    every_byte = forward_flops(model, WINDOWS)[0]
    model.count_flops_at_target_rate()
    planned = forward_flops(model, WINDOWS)[0]
    model.planned_chunk_bytes = None
    model.fit_to_training_split(WINDOWS)
    fitted = forward_flops(model, WINDOWS)[0]
    assert planned < every_byte and planned == pytest.approx(fitted, rel=0.02)


def test_the_entropy_model_is_frozen_and_counted_apart_and_hash_tables_are_embeddings():
    plain, hashed = blt("blt"), blt("blt_hash")
    assert not any(p.requires_grad for p in plain.entropy.parameters())
    assert all(p.requires_grad for n, p in plain.named_parameters() if not n.startswith("entropy."))
    d = FAMILY_ENTRIES["blt"]["encoder"]["d_model"]
    byte_tables = 257 * d + d * 256  # input embedding (bytes + BOS) and head
    assert param_counts(plain)["params_embedding"] == byte_tables
    assert param_counts(hashed)["params_embedding"] == byte_tables + len(HASH_NGRAMS) * 64 * d
    frozen = sum(p.numel() for p in plain.entropy.parameters())
    assert param_counts(plain)["params_total"] == sum(p.numel() for p in plain.parameters()) - frozen
    assert frozen == param_counts(build_model(plain.cfg.upstream.model))["params_total"]


def test_the_upstream_is_a_byte_transformer_and_its_config_is_in_the_hash():
    cfg = model_config_from_dict("blt", FAMILY_ENTRIES["blt"])
    assert cfg.upstream.model.family == "transformer" and cfg.upstream.model.tokenizer_name is None
    assert cfg.upstream.model.name == "blt_entropy" and cfg.upstream.train_bytes == 4000
    wider = dataclasses.replace(cfg, entropy_model=dataclasses.replace(cfg.entropy_model, d_model=32))

    def job(model):
        return TrainJob(experiment="t", corpus="c", model=model, training=TrainConfig(), seed=0, corpus_dir=".",
                        out_dir=".", checkpoint_dir=".")

    assert job(cfg).config_hash != job(wider).config_hash
    assert model_config_from_dict("blt", cfg.to_dict()) == cfg  # the nested entropy config survives its JSON form


def test_a_trained_entropy_model_is_adopted_and_a_mismatched_one_refused():
    cfg = model_config_from_dict("blt", FAMILY_ENTRIES["blt"])
    torch.manual_seed(1)
    entropy = build_model(cfg.upstream.model)
    trained = {k: v.clone() for k, v in entropy.state_dict().items()}
    model = build_model(cfg, upstream=entropy)
    assert model.entropy is entropy  # held as it is: building the BLT model re-initialises none of it
    assert all(torch.equal(v, trained[k]) for k, v in model.entropy.state_dict().items())
    other = build_model(dataclasses.replace(cfg.upstream.model, backbone=dataclasses.replace(
        cfg.upstream.model.backbone, d_model=32)))
    with pytest.raises(ConfigError, match="blt"):
        build_model(cfg, upstream=other)


def test_the_state_dict_carries_the_entropy_model_and_its_threshold():
    model = blt()
    model.fit_to_training_split(WINDOWS)
    torch.manual_seed(5)
    fresh = build_model(model.cfg).eval()
    fresh.load_state_dict(model.state_dict())
    assert float(fresh.threshold) == float(model.threshold)
    batch = model.collate(WINDOWS[:4])
    with torch.no_grad():
        torch.testing.assert_close(fresh(batch).byte_logprobs, model(batch).byte_logprobs, rtol=0, atol=0)


def test_hash_ngrams_read_only_the_bytes_before_and_at_their_position():
    ids = torch.tensor([[256, *b"abcdefghij"]])
    later = torch.tensor([[256, *b"abcdeXYZij"]])
    a, b = hash_ngram_ids(ids, 1000), hash_ngram_ids(later, 1000)
    assert a.shape == (1, 11, len(HASH_NGRAMS))
    assert torch.equal(a[0, :6], b[0, :6]) and not torch.equal(a[0, 6], b[0, 6])
    assert (a[..., 0] < 1000).all() and (a[..., -1] >= 1000 * (len(HASH_NGRAMS) - 1)).all()  # one block per n
    shifted = hash_ngram_ids(torch.tensor([[256, *b"zzzabc"]]), 1000)  # the same trigram elsewhere: same bucket
    assert shifted[0, -1, 0] == a[0, 3, 0]


def test_readings_at_every_byte_match_the_latent_slot_in_running_text():
    model = blt()  # unfitted: every byte starts a patch, so slot t + 1 has read bytes <= t
    got = model.word_readings(model.collate([b" cat"]))
    for text in (b" cat dog", b" cat sat"):
        with torch.no_grad():
            out = model(model.collate([text]))
        torch.testing.assert_close(got["output"][0], out.hidden["latent"][0, 5], rtol=0, atol=1e-5)


def test_fitted_readings_match_running_text_exactly_when_a_patch_starts_after_the_closing_space():
    model = blt("blt_hash", 2.0)  # fitted patches of 2 bytes: some of these words have a start after their space
    model.fit_to_training_split(WINDOWS)
    agree = {True: 0, False: 0}
    for word in [" cat", " dog", " sun", " river", " stone", " light", " model", " byte", " alpha", " beta"]:
        got = model.word_readings(model.collate([word.encode()]))["output"][0]
        text = (word + " and more").encode()
        with torch.no_grad():
            out = model(model.collate([text]))
        n = len(word)  # the closing space sits at byte n; byte n + 1 may start a patch (it reads bytes <= n)
        slot = int(out.boundaries[0, :n + 1].sum())  # the slot of the closing space's patch
        starts_after = bool(out.boundaries[0, n + 1])
        same = torch.allclose(got, out.hidden["latent"][0, slot], rtol=0, atol=1e-5)
        assert same == starts_after
        agree[starts_after] += 1
    assert agree[True] and agree[False]  # both cases were met


def test_bad_entries_are_refused_by_name():
    entry = FAMILY_ENTRIES["blt"]
    for bad, needle in [({"patching": "local"}, "local"), ({"target_patch_bytes": 1}, "target_patch_bytes"),
                        ({"entropy_model": {"d_model": 16}}, "n_heads"),
                        ({"entropy_model": {**entry["entropy_model"], "width": 3}}, "width"),
                        ({"decoder": {"d_model": 48, "n_layers": 1, "n_heads": 2}}, "d_model")]:
        with pytest.raises(ConfigError, match=needle):
            model_config_from_dict("blt", {**entry, **bad})


def test_training_reads_the_trained_entropy_model_and_fits_its_threshold_on_training_windows(tmp_path):
    import byteword
    from byteword.train import train
    from conftest import toy_corpus

    corpus = toy_corpus(tmp_path, n_docs=30, words_per_doc=150)
    cfg = model_config_from_dict("blt", FAMILY_ENTRIES["blt"])
    tc = TrainConfig(context_bytes=48, batch_size=4, train_bytes=2000, eval_every_bytes=1000, eval_bytes=1000)

    def job(model, name, **more):
        return TrainJob(experiment="t", corpus="toy", model=model, training=tc, seed=0, corpus_dir=corpus,
                        out_dir=tmp_path / name, checkpoint_dir=tmp_path / f"{name}_ckpt", **more)

    train(job(cfg.upstream.model, "entropy"))
    metrics = train(job(cfg, "blt", upstream_dir=tmp_path / "entropy"))
    entropy, model = byteword.load(tmp_path / "entropy").model, byteword.load(tmp_path / "blt").model
    for (name, p), q in zip(model.entropy.named_parameters(), entropy.parameters()):  # frozen through training
        assert torch.equal(p, q), name
    assert math.isfinite(float(model.threshold))
    chunk = metrics.loc[metrics["metric"] == "train_bytes_per_chunk", "value"]
    assert chunk.iloc[-1] == pytest.approx(cfg.target_patch_bytes, rel=0.15)  # θ was fitted to training windows
