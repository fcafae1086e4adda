import pytest
import torch

from byteword.models import build_model, model_config_from_dict
from byteword.tokenization import train_bpe

# The tests' tensors are tiny: a second thread per operation costs more in hand-offs than it saves.
torch.set_num_threads(1)

TINY_LEVEL = {"d_model": 32, "n_layers": 2, "n_heads": 2}
FAMILY_ENTRIES = {
    "bytes": {"family": "transformer", "backbone": TINY_LEVEL},
    "bytes_window": {"family": "transformer", "attention_window": 8, "backbone": TINY_LEVEL},
    "bpe": {"family": "transformer", "tokenizer": "bpe320", "backbone": TINY_LEVEL},
    "hat": {"family": "hierarchical", "max_word_bytes": 8, "encoder": TINY_LEVEL, "backbone": TINY_LEVEL,
            "decoder": TINY_LEVEL},
    "hat_mean": {"family": "hierarchical", "pooling": "mean", "max_word_bytes": 8, "encoder": TINY_LEVEL,
                 "backbone": TINY_LEVEL, "decoder": TINY_LEVEL},
    "hat_xattn": {"family": "hierarchical", "pooling": "cross_attention", "max_word_bytes": 8,
                  "encoder": TINY_LEVEL, "backbone": TINY_LEVEL, "decoder": TINY_LEVEL},
    "hat_multi": {"family": "hierarchical", "pooling": "multi", "vectors_per_word": 3, "max_word_bytes": 8,
                  "encoder": TINY_LEVEL, "backbone": TINY_LEVEL, "decoder": TINY_LEVEL},
    "spacebyte": {"family": "spacebyte", "attention_window": 16, "encoder": TINY_LEVEL,
                  "backbone": {"d_model": 48, "n_layers": 2, "n_heads": 2}, "decoder": TINY_LEVEL},
    "megabyte": {"family": "megabyte", "patch_size": 4, "backbone": {"d_model": 48, "n_layers": 2, "n_heads": 2},
                 "decoder": TINY_LEVEL},
    "hnet": {"family": "hnet", "target_chunk_bytes": 4.0, "encoder": TINY_LEVEL,
             "backbone": {"d_model": 48, "n_layers": 2, "n_heads": 2}, "decoder": TINY_LEVEL},
    "blt": {"family": "blt", "target_patch_bytes": 3.0, "attention_window": 16, "encoder": TINY_LEVEL,
            "backbone": {"d_model": 48, "n_layers": 2, "n_heads": 2}, "decoder": TINY_LEVEL,
            "entropy_model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "train_bytes": 4000}},
    "blt_hash": {"family": "blt", "patching": "monotonic", "hash_buckets": 64, "encoder": TINY_LEVEL,
                 "backbone": {"d_model": 48, "n_layers": 2, "n_heads": 2}, "decoder": TINY_LEVEL,
                 "entropy_model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "train_bytes": 4000}},
}
TOY_WORDS = "alpha beta gamma delta word text model byte token river stone light".split()


def toy_corpus(root, n_docs: int, words_per_doc: int):
    """A prepared corpus of ``n_docs`` local text files of seeded word patterns; returns its folder."""
    from byteword.corpus import corpus_config_from_dict, prepare_corpus

    paths = []
    for i in range(n_docs):
        p = root / f"doc{i}.txt"
        p.write_text(" ".join(TOY_WORDS[(i * j + j) % len(TOY_WORDS)] for j in range(words_per_doc)) + ".\n")
        paths.append(str(p))
    cfg = corpus_config_from_dict("toy", {"source": {"kind": "local", "paths": paths},
                                          "split": {"mode": "document_hash", "valid_fraction": 0.2,
                                                    "test_fraction": 0.2}})
    prepare_corpus(cfg, root / "out")
    return root / "out"


SAMPLE = ("The cat sat on the mat. Привет, мир! Tabs\tand\r\nCRLF, emoji 😀 and   runs of spaces. " * 4)


@pytest.fixture(scope="session")
def tokenizer():
    return train_bpe([SAMPLE] * 3, 320)


@pytest.fixture
def make_model(tokenizer):
    def make(kind, seed=0):
        torch.manual_seed(seed)
        return build_model(model_config_from_dict(kind, FAMILY_ENTRIES[kind]), tokenizer)

    return make


def save_tiny_llama(path, normalizer=None, special: bool = True, max_positions: int = 512, texts=None):
    """A 2-layer Hugging Face LlamaForCausalLM of width 32 over a 300-id byte-level BPE trained on ``texts``
    (default: SAMPLE and a little French), both saved to ``path`` as ``save_pretrained`` writes them (a
    pretrained entry's folder). Its post-processor trims whitespace from token offsets, as GPT-2's does."""
    from tokenizers import processors
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from byteword.tokenization import BOS_TOKEN

    tok = train_bpe(texts or [SAMPLE, "The café sells crêpes; naïve visitors pay 5 €. "], 300)
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    if normalizer is not None:
        tok.normalizer = normalizer
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, **({"bos_token": BOS_TOKEN} if special else {}))
    hf_tok.save_pretrained(path)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=max_positions)
    LlamaForCausalLM(cfg).save_pretrained(path)
