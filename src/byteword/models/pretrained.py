"""An outside Hugging Face ``transformers`` causal language model with its own tokenizer, scored on byteword's
bytes beside the models byteword trains (evaluation only: the workflow imports it, ``byteword.importing``,
and never trains it).

- **Where scoring starts.** Every token of a window is predicted, the first from a start token: the
  tokenizer's BOS, else its EOS (for GPT-2 and Pythia both are ``<|endoftext|>``, which separates documents
  in their training data); a tokenizer with neither is refused.
- **Byte spans.** Each document is tokenized once by the model's own tokenizer, and each token's
  log-likelihood is credited to the last byte it covers, as for byteword's BPE model (a window scores the
  tokens whose last byte lies in its scored span), except that a token ending inside a character is
  credited to that character's last byte. A byte-level tokenizer's tokens end where their own bytes,
  summed, end (its offsets are trimmed of whitespace by its post-processor); any other tokenizer's at the
  end of the last character their offsets touch. Tokens that split a character (byte-level BPE cuts "é" into
  two) both end at that character's end and share its start: the bytes of a character are paid for once it
  is complete, and a window holds both pieces or neither. Ends never move backwards, so the tokens tile the
  bytes and a window's sum is the log-probability of its tokens.
- **Precision.** The checkpoint is loaded in float32, as byteword's own models are scored, whatever dtype
  it was saved in.
- **Refusals.** A tokenizer that does not give back the text it encoded (one that lowercases, or normalises
  Unicode) would score other bytes than the other models read: it is refused, naming the model and the
  first text it fails on. So is a window of more tokens than the model has positions. ``trust_remote_code``
  is never set.
- **FLOPs** follow ``byteword.flops``' convention: 2 per weight of every matmul per token (the output head
  included, embedding lookups free) and 2·2·T·d per token and layer for attention."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from byteword.data import Batch, as_window, collate, with_tokens
from byteword.models.config import ConfigError, LevelConfig, ModelConfig
from byteword.models.output import ModelOutput
from byteword.models.protocol import LanguageModel
from byteword.models.transformer import credit_tokens, read_words, token_greedy_hits, token_read_positions
from byteword.provenance import atomic_path

HF_FOLDER = "hf"  # the model and tokenizer inside its pretrain folder, as save_pretrained writes them


@dataclass(frozen=True, kw_only=True)
class PretrainedConfig(ModelConfig):
    path: str  # a local folder written by save_pretrained, or a hub id
    train_flops: float | None = None  # its training FLOPs where known (for FLOPs plots)
    backbone: LevelConfig | None = None  # not sized: the model is what it is

    family: ClassVar[str] = "pretrained"
    imported: ClassVar[bool] = True

    def describe(self) -> str:
        return self.path

    @property
    def reads(self) -> str:
        return "own"

    @property
    def stated_train_flops(self) -> float | None:
        return self.train_flops


def vocabulary_bytes(hf_tokenizer, vocab_size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(vocab_size,) the first byte each id stands for (-1 for special ids and ids without a token), and, for a
    byte-level tokenizer (GPT-2, Pythia), (vocab_size,) how many bytes each id stands for (None for others).
    A byte-level token is read through the byte alphabet and an added token (its runs of spaces, its specials)
    as its UTF-8 text; any other tokenizer's token as its text with "▁" read as a space and "<0xNN>" as byte NN
    (SentencePiece's conventions), for its first byte only."""
    from byteword.tokenization import unicode_to_byte

    decoder = json.dumps(json.loads(hf_tokenizer.backend_tokenizer.to_str()).get("decoder"))
    byte_level, u2b = "ByteLevel" in decoder, unicode_to_byte()
    added = {i: t.content for i, t in hf_tokenizer.added_tokens_decoder.items()}
    specials = set(hf_tokenizer.all_special_ids)
    first, lengths = np.full(vocab_size, -1, dtype=np.int64), np.zeros(vocab_size, dtype=np.int64)
    for i, token in enumerate(hf_tokenizer.convert_ids_to_tokens(list(range(vocab_size)))):
        if not token:
            continue
        if i in added:
            data = added[i].encode("utf-8")
        elif byte_level:
            data = bytes(u2b[c] for c in token if c in u2b)
        elif m := re.fullmatch(r"<0x([0-9A-Fa-f]{2})>", token):
            data = bytes([int(m[1], 16)])
        else:
            data = token.replace("\u2581", " ").encode("utf-8")
        lengths[i] = len(data)
        if data and i not in specials:
            first[i] = data[0]
    return first, lengths if byte_level else None


class OwnTokenizer:
    """A pretrained model's own (fast) tokenizer as byteword's windows read it: ``byte_tokens(text)`` gives the
    ids of ``text`` and each token's byte offsets (``byteword.data.token_reader``)."""

    def __init__(self, hf_tokenizer, label: str, byte_lengths: np.ndarray | None):
        self.hf, self.label, self.byte_lengths = hf_tokenizer, label, byte_lengths

    def byte_tokens(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, starts, ends) of ``text``'s tokens, byte offsets with exclusive ends; ``text`` must come back
        whole from its ids. A byte-level tokenizer's ends are its tokens' own byte lengths summed; any other's
        come from its character offsets. Either way an end inside a character moves to that character's end,
        ends never move backwards, the first is at least 1 and the last is the text's end. The tokens that end
        at one character share its start too (the pieces of a split character stand for it together)."""
        enc = self.hf(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = np.asarray(enc["input_ids"], dtype=np.int64)
        back = self.hf.decode(enc["input_ids"], clean_up_tokenization_spaces=False)
        if back != text:
            raise ConfigError(f"model {self.label}: its tokenizer does not reproduce the text {text[:60]!r} (it "
                              f"gives back {back[:60]!r}), so it would score other bytes than the other models read")
        if not len(ids):
            return ids, ids, ids
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        width = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)  # UTF-8 bytes per character
        char_end = np.concatenate([[0], np.cumsum(width)])  # char_end[c]: bytes in text[:c]
        raw = np.cumsum(self.byte_lengths[ids]) if self.byte_lengths is not None else None
        if raw is None or raw[-1] != char_end[-1]:  # not byte-level, or its lengths do not add up: the offsets
            raw = char_end[[end for _, end in enc["offset_mapping"]]]
        ends = char_end[np.searchsorted(char_end, raw, side="left").clip(max=len(char_end) - 1)]
        ends = np.maximum.accumulate(np.maximum(ends, 1))
        ends[-1] = char_end[-1]  # the text came back whole: its last token ends it (trimmed offsets may not say so)
        first = np.searchsorted(ends, ends, side="left")  # the first token ending where each one does
        starts = np.where(first > 0, ends[(first - 1).clip(min=0)], 0)
        return ids, starts.astype(np.int64), ends.astype(np.int64)


class Pretrained(LanguageModel):
    Config = PretrainedConfig
    PARTS = {"backbone": ("lm.",)}  # each model's own: its embedding modules and head are its embedding part

    def __init__(self, cfg: PretrainedConfig, lm, hf_tokenizer):
        super().__init__(cfg)
        self.lm = lm
        label = f"'{cfg.name}' ({cfg.path})"
        head = lm.get_output_embeddings()
        first, byte_lengths = vocabulary_bytes(hf_tokenizer, head.weight.shape[0])
        self.own = OwnTokenizer(hf_tokenizer, label, byte_lengths)
        start = hf_tokenizer.bos_token_id if hf_tokenizer.bos_token_id is not None else hf_tokenizer.eos_token_id
        if start is None:
            raise ConfigError(f"model {label}: its tokenizer has neither a BOS nor an EOS token to start scoring from")
        self.start_id = start
        embedding = [f"{n}." for n, m in self.named_modules() if isinstance(m, nn.Embedding) or m is head]
        self.PARTS = {"embedding": tuple(embedding), "backbone": ("lm.",)}
        self.max_positions = getattr(lm.config, "max_position_embeddings", None)
        self.register_buffer("first_bytes", torch.from_numpy(first), persistent=False)

    @classmethod
    def build(cls, cfg: PretrainedConfig, tokenizer=None, upstream=None) -> "Pretrained":
        return cls.load(cfg, cfg.path)

    @classmethod
    def from_run(cls, cfg: PretrainedConfig, run_dir: Path, tokenizer=None) -> "Pretrained":
        """The copy ``save_copy`` wrote into the pretrain folder (no download)."""
        return cls.load(cfg, str(Path(run_dir) / HF_FOLDER))

    @classmethod
    def load(cls, cfg: PretrainedConfig, source: str) -> "Pretrained":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            hf_tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
            # in float32, as byteword's own models are scored (a checkpoint saved in bf16 or fp16 would round
            # its logits)
            lm = AutoModelForCausalLM.from_pretrained(source, trust_remote_code=False, dtype=torch.float32)
        except (OSError, ValueError) as e:
            where = "folder" if Path(source).is_dir() else "hub id (no such local folder)"
            raise ConfigError(f"model '{cfg.name}': cannot load {source!r} as a Hugging Face {where}: {e}") from e
        if not hf_tokenizer.is_fast:
            raise ConfigError(f"model '{cfg.name}' ({cfg.path}): its tokenizer gives no character offsets (not a "
                              "fast tokenizer), so its tokens cannot be credited to bytes")
        return cls(cfg, lm, hf_tokenizer)

    def window_tokenizer(self, tokenizer=None) -> OwnTokenizer:
        return self.own

    def save_copy(self, run_dir: Path) -> None:
        """The model and its tokenizer into ``run_dir/hf`` (written aside, then renamed), for ``from_run``."""
        tmp = atomic_path(Path(run_dir) / HF_FOLDER)
        self.lm.save_pretrained(tmp)
        self.own.hf.save_pretrained(tmp)
        os.replace(tmp, Path(run_dir) / HF_FOLDER)

    def collate(self, windows, tokenizer=None) -> Batch:
        """A batch of kind "bpe" in this model's own ids: inputs start from ``start_id``; each window's tokens
        are its document's (``eval_windows``) or, for plain bytes, its own text's."""
        windows = [as_window(w) for w in windows]
        batch = collate(windows, "bytes")  # the bytes, their mask and the scored span
        ids, ends = [], []
        for w in windows:
            if w.token_ids is not None:
                w_ids, w_ends = list(w.token_ids), list(w.token_ends)
            else:
                w_ids, _, w_ends = (a.tolist() for a in self.own.byte_tokens(w.data.decode("utf-8")))
            ids.append(w_ids)
            ends.append([e - 1 for e in w_ends])  # (T,) last byte of each token
        longest = max(range(len(ids)), key=lambda k: len(ids[k]))
        if self.max_positions is not None and len(ids[longest]) > self.max_positions:
            raise ConfigError(f"model {self.own.label}: a window of {len(windows[longest].data)} bytes holds "
                              f"{len(ids[longest])} of its tokens, more than its {self.max_positions} positions; "
                              "lower training.context_bytes")
        return with_tokens(batch, ids, ends, self.start_id)

    def final_states(self, ids: torch.Tensor, mask: torch.Tensor | None = None):
        """(B, T) ids -> the model's output and (B, T, d) states of its last layer."""
        out = self.lm(input_ids=ids, attention_mask=None if mask is None else mask.long(), output_hidden_states=True)
        return out, out.hidden_states[-1]

    def forward(self, batch) -> ModelOutput:
        out, h = self.final_states(batch.ids, batch.target_mask)
        logp = F.log_softmax(out.logits.float(), dim=-1)
        lp = logp.gather(-1, batch.targets.clamp(min=0)[..., None])[..., 0] * batch.target_mask  # (B, T)
        byte_lp, boundaries = credit_tokens(lp, batch)
        hits = {} if self.training else token_greedy_hits(logp, batch, self.first_bytes)
        return ModelOutput(byte_logprobs=byte_lp, byte_mask=batch.byte_mask, boundaries=boundaries,
                           hidden={"token": h}, **hits)

    def text_states(self, out) -> torch.Tensor:
        return out.hidden["token"]

    def read_positions(self, batch, row: int, a: int, b: int) -> torch.Tensor:
        return token_read_positions(batch, row, a, b)

    @torch.no_grad()
    def word_readings(self, batch) -> dict[str, torch.Tensor]:
        """``input``: the mean input embedding of the tokens its tokenizer gives " word" alone; ``output``: the
        last layer's state once it has read them after the start token (as for byteword's BPE model)."""
        units, mask = batch.targets.clamp(min=0), batch.target_mask
        return read_words(units, mask, self.lm.get_input_embeddings(), lambda ids: self.final_states(ids)[1],
                          self.start_id)

    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch of T tokens: every matrix of its matmuls, the output head
        included (tied to the input embedding or not; the lookups themselves are free), and attention over the
        T positions."""
        T = batch.ids.shape[1]
        head = self.lm.get_output_embeddings().weight
        lookups = {id(p) for m in self.lm.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
        # the matrices of its matmuls (norm gains and biases, one-dimensional, are free)
        weights = sum(p.numel() for p in self.lm.parameters()
                      if p.dim() >= 2 and id(p) not in lookups and p is not head)
        c = self.lm.config
        return T * (2.0 * (weights + head.numel()) + c.num_hidden_layers * 4.0 * T * c.hidden_size)

