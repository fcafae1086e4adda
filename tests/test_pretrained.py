"""A Hugging Face causal LM scored on byteword's bytes, offline: a tiny LlamaForCausalLM and its tokenizer,
both built and saved here. Its BPB is the log-likelihood of its own tokens over the bytes, split characters
are paid for at their last byte, every token of a document is scored once across its windows, an imported
run loads back to the same scores, and tokenizers that cannot give the text back are refused by name."""

import itertools
import math

import pytest
import torch

import byteword
from byteword.api import LoadedModel
from byteword.data import eval_windows
from byteword.models import param_counts
from byteword.models.config import ConfigError
from byteword.importing import import_run
from byteword.models.pretrained import Pretrained, PretrainedConfig
from conftest import save_tiny_llama, toy_corpus

TEXT = "The café sells crêpes; naïve visitors pay 5 €. " * 3


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_llama")
    save_tiny_llama(path)
    return path


@pytest.fixture(scope="module")
def tiny(tiny_path):
    return Pretrained.build(PretrainedConfig(name="tiny_llama", path=str(tiny_path))).eval()


def direct_logprob(model, ids) -> float:
    """log p of ``ids`` from the model's logits: each token predicted from the one before, the first from
    the start token."""
    logits = model.lm(input_ids=torch.tensor([[model.start_id, *ids[:-1]]])).logits[0]
    return torch.log_softmax(logits.float(), -1)[torch.arange(len(ids)), torch.tensor(ids)].sum().item()


def test_bpb_is_the_log_likelihood_of_its_own_tokens_over_the_bytes(tiny):
    data = TEXT.encode("utf-8")
    with torch.no_grad():
        out = tiny(tiny.collate([data]))
        direct = direct_logprob(tiny, tiny.own.hf(TEXT, add_special_tokens=False)["input_ids"])
    bpb = -out.byte_logprobs.sum() / (math.log(2) * len(data))
    assert bpb == pytest.approx(-direct / (math.log(2) * len(data)), rel=1e-5)
    assert out.byte_mask.sum() == len(data)


def test_tokens_that_split_a_character_are_paid_for_at_its_last_byte(tiny):
    ids, starts, ends = (a.tolist() for a in tiny.own.byte_tokens(TEXT))
    data = TEXT.encode("utf-8")
    char_ends = {i for i in range(1, len(data) + 1) if i == len(data) or (data[i] & 0xC0) != 0x80}
    assert set(ends) <= char_ends  # never inside a character
    assert ends == sorted(ends) and ends[-1] == len(data)
    # a token starts where the last token ending before it ends: the pieces of a character share its span
    assert starts == [max([0, *(e for e in ends if e < end)]) for end in ends]
    # tokens that hold part of a character only (each decodes to U+FFFD alone) share that character's end
    split = [k for k, i in enumerate(ids) if "\ufffd" in tiny.own.hf.decode([i])]
    assert any(k + 1 in split and ends[k] == ends[k + 1] for k in split)
    # windows that end in a split character: both pieces scored, at its last byte; a boundary at each token
    # that starts a byte, none for the second piece
    texts = ["5 €", " naï"]
    with torch.no_grad():
        out = tiny(tiny.collate([t.encode("utf-8") for t in texts]))
    for row, text in enumerate(texts):
        ids, _, ends = tiny.own.byte_tokens(text)
        assert out.byte_logprobs[row].sum().item() == pytest.approx(direct_logprob(tiny, ids.tolist()), rel=1e-5)
        assert out.boundaries[row].sum() == len(set(ends.tolist())) < len(ids)
    assert out.byte_hit.shape == out.start_hit.shape == out.byte_mask.shape


def test_byte_level_tokens_end_at_their_own_bytes_not_at_trimmed_offsets(tmp_path):
    save_tiny_llama(tmp_path, texts=["one\n two\n three\n four\n " * 50])
    model = Pretrained.build(PretrainedConfig(name="lines", path=str(tmp_path)))
    text = "one\n two\n  three\n four\n "  # "\n " is one token, whose offsets the post-processor trims
    enc = model.own.hf(text, add_special_tokens=False, return_offsets_mapping=True)
    lengths = [len(model.own.hf.decode([i]).encode("utf-8")) for i in enc["input_ids"]]  # ASCII: each alone
    trimmed = [end for _, end in enc["offset_mapping"]]
    assert trimmed != list(itertools.accumulate(lengths))  # the offsets alone would credit "\n " too early
    assert model.own.byte_tokens(text)[2].tolist() == list(itertools.accumulate(lengths))


def test_every_token_of_a_document_is_scored_in_exactly_one_window(tiny):
    text = TEXT * 3
    windows = eval_windows([text], 64, 24, tokenizer=tiny.own)
    assert len(windows) > 4
    scored = [i for w in windows for i, end in zip(w.token_ids, w.token_ends) if end > w.score_from]
    assert scored == tiny.own.byte_tokens(text)[0].tolist()
    for w in windows:  # each window's tokens are whole characters, up to the last token that ends inside it
        back = tiny.own.hf.decode(list(w.token_ids))
        assert "\ufffd" not in back
        assert w.data[: w.token_ends[-1]].endswith(back.encode("utf-8"))
    # one window holding the whole document scores it as the model reads it in one pass
    whole = LoadedModel(tiny, tiny.own, 4096).bpb(text)
    with torch.no_grad():
        direct = direct_logprob(tiny, tiny.own.byte_tokens(text)[0].tolist())
    assert whole == pytest.approx(-direct / (math.log(2) * len(text.encode("utf-8"))), rel=1e-5)


def test_an_imported_run_loads_back_to_the_same_scores(tiny, tiny_path, tmp_path):
    corpus = toy_corpus(tmp_path, 12, 40)
    spec = {"experiment": "t", "corpus": "toy", "model_name": "tiny_llama",
            "model": {"family": "pretrained", "path": str(tiny_path), "train_flops": 1e15},
            "training": {"context_bytes": 64, "batch_size": 4, "train_bytes": 1000, "lr": 0.01}}
    import_run(spec, 0, corpus, tmp_path / "run")
    loaded = byteword.load(tmp_path / "run")
    assert loaded.bpb(TEXT) == pytest.approx(LoadedModel(tiny, tiny.own, 64).bpb(TEXT), rel=1e-6)
    record = loaded.record
    assert (record.train_flops, record.steps, record.bytes_seen, record.training.train_bytes) == (1e15, 0, 0, 0)
    assert record.params == param_counts(tiny) and record.params["params_embedding"] == 2 * 300 * 32  # untied
    assert record.tokenizer == "own" and record.flops_per_byte > 0


def test_flops_count_every_matmul_and_attention(tiny):
    batch = tiny.collate([TEXT.encode("utf-8")])
    T, d, ff, layers, vocab = batch.ids.shape[1], 32, 64, 2, 300
    per_token = 2 * (layers * (4 * d * d + 3 * d * ff) + vocab * d) + layers * 4 * T * d
    assert tiny.analytic_flops(batch) == T * per_token


def test_word_readings_are_the_mean_embedding_and_the_state_after_the_word(tiny):
    words = [" cat", " naïve"]
    readings = tiny.word_readings(tiny.collate([w.encode("utf-8") for w in words]))
    for k, word in enumerate(words):
        ids = tiny.own.byte_tokens(word)[0].tolist()
        with torch.no_grad():
            h = tiny.lm(input_ids=torch.tensor([[tiny.start_id, *ids]]), output_hidden_states=True).hidden_states[-1]
            emb = tiny.lm.get_input_embeddings()(torch.tensor(ids)).mean(0)
        torch.testing.assert_close(readings["output"][k], h[0, len(ids)], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(readings["input"][k], emb)


def test_a_checkpoint_saved_in_bfloat16_is_scored_in_float32(tmp_path):
    from transformers import AutoModelForCausalLM

    save_tiny_llama(tmp_path)
    AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.bfloat16).save_pretrained(tmp_path)
    model = Pretrained.build(PretrainedConfig(name="bf16_llama", path=str(tmp_path)))
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_a_tokenizer_that_lowercases_is_refused_by_name(tmp_path):
    from tokenizers import normalizers

    save_tiny_llama(tmp_path, normalizer=normalizers.Lowercase())
    model = Pretrained.build(PretrainedConfig(name="lower_llama", path=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"'lower_llama'.*does not reproduce the text 'The café"):
        model.collate([TEXT.encode("utf-8")])


def test_a_tokenizer_without_a_start_token_is_refused(tmp_path):
    save_tiny_llama(tmp_path, special=False)
    with pytest.raises(ConfigError, match="neither a BOS nor an EOS"):
        Pretrained.build(PretrainedConfig(name="no_start", path=str(tmp_path)))


def test_a_window_longer_than_its_positions_is_refused(tmp_path):
    save_tiny_llama(tmp_path, max_positions=8)
    model = Pretrained.build(PretrainedConfig(name="short_llama", path=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"'short_llama'.*more than its 8 positions; lower training.context_bytes"):
        model.collate([TEXT.encode("utf-8")])


def test_a_path_that_is_neither_a_folder_nor_a_hub_model_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"model 'gone': cannot load .* as a Hugging Face folder"):
        Pretrained.build(PretrainedConfig(name="gone", path=str(tmp_path)))
