"""A Hugging Face ``transformers`` causal language model with its own tokenizer, scored on byteword's bytes
(not yet a family of the registry: the workflow's rules do not read it yet).

- **Where scoring starts.** Every token of a window is predicted, the first from a start token: the
  tokenizer's BOS, else its EOS (GPT-2 and Pythia have only ``<|endoftext|>``, which separates documents in
  their training data); a tokenizer with neither is refused.
- **Byte spans.** Each token's log-likelihood is credited to the last byte it covers, as for byteword's BPE
  model. The tokenizer's offsets are in characters; a character's bytes end where the character ends, so a
  token ends at the last byte of the last character it touches. Tokens that split a character (byte-level
  BPE cuts "é" into two) both report that character, and both are credited to its last byte: the bytes of a
  character are paid for once it is complete. Ends never move backwards (a token of trimmed whitespace
  keeps the previous token's end), so every log-likelihood lands inside the window and the sum over a
  window is the log-probability of its tokens.
- **Refusals.** A tokenizer that does not give back the text it encoded (one that lowercases, or normalises
  Unicode) would score other bytes than the other models read: it is refused, naming the model and the
  first text it fails on. ``trust_remote_code`` is never set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from byteword.data import Batch, as_window, collate
from byteword.models.config import ConfigError, LevelConfig, ModelConfig
from byteword.models.output import ModelOutput
from byteword.models.protocol import LanguageModel
from byteword.models.transformer import credit_tokens


@dataclass(frozen=True, kw_only=True)
class PretrainedConfig(ModelConfig):
    path: str  # a local folder written by save_pretrained, or a hub id
    train_flops: float | None = None  # its training FLOPs where known (for FLOPs plots)
    backbone: LevelConfig | None = None  # not sized: the model is what it is

    family: ClassVar[str] = "pretrained"

    def describe(self) -> str:
        return self.path


class Pretrained(LanguageModel):
    Config = PretrainedConfig
    # the input embeddings and heads of the architectures the full config lists (Llama, GPT-2, Pythia); the rest
    # of the checkpoint counts as its backbone
    PARTS = {"embedding": ("lm.model.embed_tokens.", "lm.lm_head.", "lm.transformer.wte.", "lm.embed_out.",
                           "lm.gpt_neox.embed_in."), "backbone": ("lm.",)}

    def __init__(self, cfg: PretrainedConfig, lm, tokenizer):
        super().__init__(cfg)
        self.lm, self.tokenizer = lm, tokenizer
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        if start is None:
            raise ConfigError(f"model '{cfg.name}' ({cfg.path}): its tokenizer has neither a BOS nor an EOS token "
                              "to start scoring from")
        self.start_id = start

    @classmethod
    def build(cls, cfg: PretrainedConfig, tokenizer=None, upstream=None) -> "Pretrained":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        hf_tokenizer = AutoTokenizer.from_pretrained(cfg.path, trust_remote_code=False)
        if not hf_tokenizer.is_fast:
            raise ConfigError(f"model '{cfg.name}' ({cfg.path}): its tokenizer gives no character offsets (not a "
                              "fast tokenizer), so its tokens cannot be credited to bytes")
        lm = AutoModelForCausalLM.from_pretrained(cfg.path, trust_remote_code=False)
        return cls(cfg, lm, hf_tokenizer)

    def tokens(self, text: str) -> tuple[list[int], list[int]]:
        """The ids of ``text`` and the index of the last byte each covers (``text`` must come back whole)."""
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"]
        back = self.tokenizer.decode(ids, clean_up_tokenization_spaces=False)
        if back != text:
            raise ConfigError(f"model '{self.cfg.name}' ({self.cfg.path}): its tokenizer does not reproduce the "
                              f"text {text[:60]!r} (it gives back {back[:60]!r}), so it would score other bytes "
                              "than the other models read")
        char_end = [0]  # char_end[c]: bytes in text[:c]
        for ch in text:
            char_end.append(char_end[-1] + len(ch.encode("utf-8")))
        ends, last = [], 0
        for _, end in enc["offset_mapping"]:
            last = max(last, char_end[end] - 1)
            ends.append(last)
        return ids, ends

    def collate(self, windows, tokenizer=None) -> Batch:
        """A batch of kind "bpe" in this model's own ids: inputs start from ``start_id``."""
        batch = collate(windows, "bytes")  # the bytes, their mask and the scored span
        ids, ends = zip(*(self.tokens(as_window(w).data.decode("utf-8")) for w in windows))
        width = max(map(len, ids))
        pad = lambda rows, value: torch.tensor([list(r) + [value] * (width - len(r)) for r in rows])  # noqa: E731
        batch.ids = pad([[self.start_id, *r[:-1]] for r in ids], self.start_id)
        batch.targets = pad(ids, -100)
        batch.target_mask = batch.targets >= 0
        batch.token_end = pad(ends, 0)
        return batch

    def forward(self, batch) -> ModelOutput:
        out = self.lm(input_ids=batch.ids, attention_mask=batch.target_mask.long(), output_hidden_states=True)
        logp = F.log_softmax(out.logits.float(), dim=-1)
        lp = logp.gather(-1, batch.targets.clamp(min=0)[..., None])[..., 0] * batch.target_mask  # (B, T)
        byte_lp, boundaries, _, _ = credit_tokens(lp, batch)
        return ModelOutput(byte_logprobs=byte_lp, byte_mask=batch.byte_mask, boundaries=boundaries,
                           hidden={"token": out.hidden_states[-1]})

    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch: 2 per non-embedding weight per input token (attention's
        own FLOPs are left out: the architecture is the checkpoint's)."""
        return 2.0 * self.lm.num_parameters(exclude_embeddings=True) * batch.ids.shape[1]
