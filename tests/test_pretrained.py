"""A Hugging Face causal LM scored on byteword's bytes, offline: a tiny LlamaForCausalLM and its tokenizer,
both built and saved here. Its BPB is the log-likelihood of its own tokens over the bytes, split characters
are paid for at their last byte, and a tokenizer that does not give the text back is refused by name."""

import math

import pytest
import torch

from byteword.models.config import ConfigError
from byteword.models.pretrained import Pretrained, PretrainedConfig
from byteword.tokenization import BOS_TOKEN, train_bpe
from conftest import SAMPLE

TEXT = "The café sells crêpes; naïve visitors pay 5 €. " * 3


def save_tiny(path, normalizer=None, special: bool = True):
    """A 2-layer Llama of width 32 over a 300-id byte-level BPE trained on SAMPLE, saved to ``path``."""
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = train_bpe([SAMPLE, TEXT], 300)
    if normalizer is not None:
        tok.normalizer = normalizer
    specials = {"bos_token": BOS_TOKEN} if special else {}
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, **specials)
    hf_tok.save_pretrained(path)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512)
    LlamaForCausalLM(cfg).save_pretrained(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_llama")
    save_tiny(path)
    return Pretrained.build(PretrainedConfig(name="tiny_llama", path=str(path))).eval()


def test_bpb_is_the_log_likelihood_of_its_own_tokens_over_the_bytes(tiny):
    data = TEXT.encode("utf-8")
    with torch.no_grad():
        out = tiny(tiny.collate([data]))
        # directly from the logits: every token of the text predicted from the one before, the first from BOS
        ids = tiny.tokenizer(TEXT, add_special_tokens=False)["input_ids"]
        logits = tiny.lm(input_ids=torch.tensor([[tiny.start_id, *ids[:-1]]])).logits[0]
        direct = torch.log_softmax(logits.float(), -1)[torch.arange(len(ids)), torch.tensor(ids)].sum()
    bpb = -out.byte_logprobs.sum() / (math.log(2) * len(data))
    assert bpb == pytest.approx(-direct.item() / (math.log(2) * len(data)), rel=1e-5)
    assert out.byte_mask.sum() == len(data)


def test_tokens_that_split_a_character_are_paid_for_at_its_last_byte(tiny):
    ids, ends = tiny.tokens(TEXT)
    data = TEXT.encode("utf-8")
    last_bytes = {i for i in range(len(data)) if i + 1 == len(data) or (data[i + 1] & 0xC0) != 0x80}
    assert set(ends) <= last_bytes  # never inside a character
    assert ends == sorted(ends) and ends[-1] == len(data) - 1
    # tokens that hold part of a character only (each decodes to U+FFFD alone) share that character's end
    split = [k for k, i in enumerate(ids) if "\ufffd" in tiny.tokenizer.decode([i])]
    assert any(k + 1 in split and ends[k] == ends[k + 1] for k in split)


def test_a_tokenizer_that_lowercases_is_refused_by_name(tmp_path):
    from tokenizers import normalizers

    save_tiny(tmp_path, normalizer=normalizers.Lowercase())
    model = Pretrained.build(PretrainedConfig(name="lower_llama", path=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"'lower_llama'.*does not reproduce the text 'The café"):
        model.collate([TEXT.encode("utf-8")])


def test_a_tokenizer_without_a_start_token_is_refused(tmp_path):
    save_tiny(tmp_path, special=False)
    with pytest.raises(ConfigError, match="neither a BOS nor an EOS"):
        Pretrained.build(PretrainedConfig(name="no_start", path=str(tmp_path)))
