"""The Byte Latent Transformer, following Pagnoni et al. 2024, "Byte Latent Transformer: Patches Scale
Better Than Tokens" (reference implementation: github.com/facebookresearch/blt).

Patches come from a separate, smaller byte language model, the *entropy model*: byteword's byte
transformer (``byteword.models.transformer``), trained first on the training split by its own rule
(``upstream``) and held frozen inside the BLT model, so that its weights are saved and loaded with it.

1. patching: the entropy model reads [BOS, x_0 .. x_{W-2}] and gives H_t, the entropy (nats) of its
   prediction of byte x_t from the bytes before it. Byte t starts a patch where H_t > θ (``patching:
   global``) or H_t - H_{t-1} > θ (``monotonic``, the paper's relative rule); byte 0 always does. θ is
   one number, chosen on training windows before the first step (``fit_to_training_split``) so that
   their mean patch length is ``target_patch_bytes``, and kept in the state dict. So whether byte t
   starts a patch depends on bytes < t only.
2. local encoder: a causal byte transformer over [BOS, x_0 .. x_{W-1}] (position p has read the bytes
   before p, and position t+1 has read x_t), byte embeddings plus, with ``hash_buckets`` set, hash
   embeddings of the n-grams (n = 3..8) that end at each position. Each patch is pooled by one
   cross-attention: its query is the max-pool of its bytes' states, its keys and values those states.
   The BOS position is a patch of its own, slot 0; byte patch j is slot j + 1.
3. latent transformer (``backbone``): a causal transformer over the slots, so slot j + 1 has read the
   bytes of patches <= j.
4. local decoder: byte t of patch j, from the encoder state at position t (bytes < t), reads by
   cross-attention the latent slots 0..j (every slot whose patch ended before byte t), then a causal
   byte transformer and a head over the 256 bytes. So byte t is predicted from bytes < t alone.

FLOPs per byte include the entropy model's forward pass, which the paper leaves out of its FLOPs.
Until θ is fitted (an untrained model) every byte starts a patch; compute matching sizes the model at
its target patch length (``count_flops_at_target_rate``), as H-Net's.

Departures from the paper:
- the entropy model is byteword's byte transformer at the configured size, trained on this corpus and
  reading this model's windows (the paper's is a 100M-parameter model with its own 512-byte window);
- one pooling cross-attention after the encoder's layers and one cross-attention before the decoder's
  (the paper can put one in every layer), without the paper's split of each patch into k vectors;
- the decoder's bytes read every completed patch, not their own patch's slot alone;
- a BOS slot opens the latent sequence (the paper pads with beginning-of-example bytes);
- no maximum patch length; the hash is a polynomial rolling hash modulo 2^31 - 1 with one table of
  ``hash_buckets`` rows per n; encoder and decoder share one width; linear maps into and out of the
  latent width; rotary positions in every self-attention layer, none in cross-attention.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from byteword.data import collate
from byteword.flops import linear_flops, stack_flops
from byteword.models.config import ConfigError, LevelConfig, ModelConfig, Upstream
from byteword.models.layers import RMSNorm, Stack, init_weights, with_closing_space
from byteword.models.output import ModelOutput, byte_greedy_hits
from byteword.models.protocol import LanguageModel
from byteword.models.transformer import Transformer, TransformerConfig

BYTE_BOS = 256
PATCHINGS = ("global", "monotonic")
HASH_NGRAMS = (3, 4, 5, 6, 7, 8)  # the n-gram lengths that get hash embeddings, as in the paper
HASH_MODULUS, HASH_BASE = 2**31 - 1, 1_000_003
FIT_BATCH = 32  # windows per forward pass of the entropy model while fitting θ


@dataclass(frozen=True)
class EntropyModelConfig:
    d_model: int
    n_layers: int
    n_heads: int
    train_bytes: int  # its own training budget, drawn from the same training split
    lr: float | None = None  # overrides training.lr for the entropy model


@dataclass(frozen=True, kw_only=True)
class BLTConfig(ModelConfig):
    encoder: LevelConfig
    decoder: LevelConfig
    entropy_model: EntropyModelConfig
    target_patch_bytes: float = 4.0  # the mean patch length on training windows that θ is chosen for
    patching: str = "global"  # "monotonic": a patch starts where the entropy rises by more than θ
    hash_buckets: int | None = None  # rows per n-gram length of the hash embeddings; None: none
    attention_window: int | None = None  # sliding window of the byte-level (local) layers, in positions

    family: ClassVar[str] = "blt"

    def __post_init__(self):
        if isinstance(self.entropy_model, dict):  # from a config entry or a model.json
            known = set(EntropyModelConfig.__dataclass_fields__)
            if unknown := sorted(set(self.entropy_model) - known):
                raise ConfigError(f"model '{self.name}': entropy_model has no key(s) {', '.join(unknown)} "
                                  f"(it reads {', '.join(sorted(known))})")
            missing = sorted(f.name for f in dataclasses.fields(EntropyModelConfig)
                             if f.default is dataclasses.MISSING and f.name not in self.entropy_model)
            if missing:
                raise ConfigError(f"model '{self.name}': entropy_model needs {', '.join(missing)}")
            object.__setattr__(self, "entropy_model", EntropyModelConfig(**self.entropy_model))

    def check(self) -> None:
        if self.encoder.d_model != self.decoder.d_model:
            raise ConfigError(f"model '{self.name}': the decoder reads the encoder's byte states, so their d_model "
                              f"must be equal ({self.encoder.d_model} != {self.decoder.d_model})")
        if self.patching not in PATCHINGS:
            raise ConfigError(f"model '{self.name}': patching {self.patching!r}; choose one of {', '.join(PATCHINGS)}")
        if not self.target_patch_bytes > 1:
            raise ConfigError(f"model '{self.name}': target_patch_bytes must exceed 1, got {self.target_patch_bytes}")
        if self.hash_buckets is not None and self.hash_buckets < 1:
            raise ConfigError(f"model '{self.name}': hash_buckets must be at least 1, got {self.hash_buckets}")

    def describe(self) -> str:
        rule = "entropy rise" if self.patching == "monotonic" else "entropy"
        return f"{rule} patches of {self.target_patch_bytes:g} bytes" + (", hash n-grams" if self.hash_buckets else "")

    @property
    def target_bytes_per_chunk(self) -> float:
        return self.target_patch_bytes

    @property
    def upstream(self) -> Upstream:
        e = self.entropy_model
        model = TransformerConfig(name=f"{self.name}_entropy", backbone=LevelConfig(e.d_model, e.n_layers, e.n_heads),
                                  lr=e.lr)
        return Upstream(model=model, train_bytes=e.train_bytes)


def hash_ngram_ids(ids: torch.Tensor, buckets: int) -> torch.Tensor:
    """(B, T) ids (0..256) -> (B, T, len(HASH_NGRAMS)) rows of the hash table: for each n, the bucket of the
    n ids ending at each position (positions before the stream count as one more symbol), offset by n's
    block of ``buckets`` rows. h = sum_k (id_{p-k} + 1) · BASE^k mod (2^31 - 1), all in int64."""
    longest = max(HASH_NGRAMS)
    padded = F.pad(ids + 1, (longest - 1, 0))  # (B, T + longest - 1): 0 before the stream
    T, h, rows = ids.shape[1], torch.zeros_like(ids), []
    for k in range(longest):  # extend every n-gram one id further back
        back = padded[:, longest - 1 - k: longest - 1 - k + T]
        h = (h + back * pow(HASH_BASE, k, HASH_MODULUS)) % HASH_MODULUS
        if k + 1 in HASH_NGRAMS:
            rows.append(HASH_NGRAMS.index(k + 1) * buckets + h % buckets)
    return torch.stack(rows, dim=-1)


class CrossAttention(nn.Module):
    """Pre-norm multi-head attention of one sequence's queries over another's keys and values, added to
    the queries: (B, Q, d) queries, (B, K, d) keys, (B, 1, Q, K) bool mask (True = may attend) -> (B, Q, d)."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.norm_q, self.norm_kv = RMSNorm(d_model), RMSNorm(d_model)
        self.q = nn.Linear(d_model, d_model, bias=False)
        self.kv = nn.Linear(d_model, 2 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        (B, Q, d), K, H = queries.shape, keys.shape[1], self.n_heads
        q = self.q(self.norm_q(queries)).view(B, Q, H, d // H).transpose(1, 2)  # (B, H, Q, Dh)
        k, v = self.kv(self.norm_kv(keys)).view(B, K, 2, H, d // H).permute(2, 0, 3, 1, 4)  # 2 x (B, H, K, Dh)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return queries + self.proj(y.transpose(1, 2).reshape(B, Q, d))

    @staticmethod
    def flops(n_queries: float, n_keys: float, d_model: int) -> float:
        """Forward FLOPs: the query, key/value and output maps, then scores and weighted sums over all keys."""
        return (2 * linear_flops(n_queries, d_model, d_model) + linear_flops(n_keys, d_model, 2 * d_model)
                + 4 * n_queries * n_keys * d_model)


class BLT(LanguageModel):
    Config = BLTConfig
    # the entropy model's parameters are frozen, so counted in its own record, not here
    PARTS = {"embedding": ("embed.", "hash_embed.", "head."), "encoder": ("encoder.", "pool."),
             "backbone": ("to_latent.", "latent.", "from_latent."), "decoder": ("unpool.", "decoder.")}

    def __init__(self, cfg: BLTConfig, entropy: Transformer | None = None):
        super().__init__(cfg)
        enc, bb, dec = cfg.encoder, cfg.backbone, cfg.decoder
        d = enc.d_model
        self.embed = nn.Embedding(257, d)  # 256 bytes + BOS
        if cfg.hash_buckets:
            self.hash_embed = nn.Embedding(len(HASH_NGRAMS) * cfg.hash_buckets, d)
        self.encoder = Stack(d, enc.n_layers, enc.n_heads)
        self.pool = CrossAttention(d, enc.n_heads)
        self.to_latent = nn.Linear(d, bb.d_model, bias=False)
        self.latent = Stack(bb.d_model, bb.n_layers, bb.n_heads)
        self.from_latent = nn.Linear(bb.d_model, d, bias=False)
        self.unpool = CrossAttention(d, dec.n_heads)
        self.decoder = Stack(d, dec.n_layers, dec.n_heads)
        self.head = nn.Linear(d, 256, bias=False)
        init_weights(self)  # before the entropy model joins: a trained one keeps its weights
        self.entropy = entropy if entropy is not None else Transformer(cfg.upstream.model)
        self.entropy.requires_grad_(False)
        # θ in nats; -inf until fitted: every byte starts a patch
        self.register_buffer("threshold", torch.tensor(-math.inf))

    @classmethod
    def build(cls, cfg: BLTConfig, tokenizer=None, upstream: Transformer | None = None) -> "BLT":
        return cls(cfg, upstream)

    # Sizing counts FLOPs at target_patch_bytes (``planned_chunk_bytes``: an unfitted θ draws one patch per
    # byte); the benchmark draws θ from each batch's own statistics at that rate (``fixed_chunk_bytes``).

    def statistic(self, x: torch.Tensor) -> torch.Tensor:
        """(B, W) window bytes -> (B, W) what θ is compared with at each byte: H_t, the entropy model's entropy
        (nats) of byte t given the bytes before it, or its rise H_t - H_{t-1} (byte 0's value is never read)."""
        ids = torch.cat([torch.full_like(x[:, :1], BYTE_BOS), x[:, :-1]], dim=1)
        logp = F.log_softmax(self.entropy.head(self.entropy.hidden_states(ids)).float(), dim=-1)  # (B, W, 256)
        H = -(logp.exp() * logp).sum(-1)  # (B, W)
        return H if self.cfg.patching == "global" else torch.cat([H[:, :1], H[:, 1:] - H[:, :-1]], dim=1)

    def patch_starts(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, W) window bytes and real bytes -> (B, W) bool, True at the first byte of every patch."""
        stat = self.statistic(x)
        threshold = self.threshold
        if self.fixed_chunk_bytes:  # timing only: θ from this batch, so patches have about the target length
            threshold = stat[:, 1:][mask[:, 1:]].float().quantile(1 - 1 / self.fixed_chunk_bytes)
        starts = stat > threshold
        starts[:, 0] = True
        return starts & mask

    @torch.no_grad()
    def fit_to_training_split(self, windows: list[bytes]) -> None:
        """Choose θ so that ``windows`` (training windows) have a mean patch length of ``target_patch_bytes``:
        with n bytes in N windows, each window's byte 0 starts a patch, so k = round(n / target) - N more
        starts are needed; θ is set midway between the k-th and (k+1)-th largest statistic of the bytes after
        the first, so that exactly k exceed it (ties aside)."""
        device, stats, n_bytes = self.threshold.device, [], 0
        for i in range(0, len(windows), FIT_BATCH):
            batch = collate(windows[i: i + FIT_BATCH], "bytes").to(device)
            stats.append(self.statistic(batch.bytes)[:, 1:][batch.byte_mask[:, 1:]])
            n_bytes += int(batch.byte_mask.sum())
        if not n_bytes:
            raise ValueError(f"model '{self.cfg.name}': no training bytes to choose its entropy threshold on")
        ranked = torch.cat(stats).sort(descending=True).values
        k = min(max(round(n_bytes / self.cfg.target_patch_bytes) - len(windows), 0), len(ranked))
        if k == 0:
            self.threshold.fill_(math.inf)
        elif k == len(ranked):
            self.threshold.fill_(-math.inf)
        else:
            self.threshold.fill_(float(ranked[k - 1] + ranked[k]) / 2)

    def stream(self, x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, W) window bytes and real bytes -> the encoder's states ``encoder`` (B, W+1, d), the patch starts
        ``starts`` (B, W), each byte's patch ``patch_of`` (B, W), the latent inputs ``latent_in`` and outputs
        ``latent`` (B, S, d_bb), S = the batch's most patches + 1 (slot 0: BOS; padding slots last)."""
        B, W = x.shape
        starts = self.patch_starts(x, mask)
        patch_of = starts.long().cumsum(1) - 1  # (B, W): byte patch of each byte (byte 0 starts patch 0)
        S = int(starts.sum(1).max()) + 1
        torch._check(S >= 2)  # for the compiler, which cannot see either from a data-dependent count
        torch._check(S <= W + 1)
        ids = torch.cat([torch.full_like(x[:, :1], BYTE_BOS), x], dim=1)  # (B, W+1)
        emb = self.embed(ids)
        if self.cfg.hash_buckets:
            emb = emb + self.hash_embed(hash_ngram_ids(ids, self.cfg.hash_buckets)).sum(2)
        h = self.encoder(emb, causal=True, window=self.cfg.attention_window)  # (B, W+1, d)
        # the slot each encoder position pools into: BOS's slot 0, byte t's patch + 1; padding a spare slot S
        slot = torch.cat([torch.zeros_like(patch_of[:, :1]), torch.where(mask, patch_of + 1, S)], dim=1)
        pooled = h.new_zeros(B, S + 1, h.shape[-1]).scatter_reduce(
            1, slot[..., None].expand(-1, -1, h.shape[-1]), h, reduce="amax", include_self=False)[:, :S]
        own = slot[:, None, :] == torch.arange(S, device=x.device)[None, :, None]  # (B, S, W+1)
        own[..., 0] |= ~own.any(-1)  # a padding slot reads BOS's position, so that no row of the mask is empty
        latent_in = self.to_latent(self.pool(pooled, h, own[:, None]))  # (B, S, d_bb)
        latent = self.latent(latent_in, causal=True)  # slot j + 1 has read the bytes of patches <= j
        return {"encoder": h, "starts": starts, "patch_of": patch_of, "latent_in": latent_in, "latent": latent}

    def forward(self, batch) -> ModelOutput:
        x, mask = batch.bytes, batch.byte_mask  # (B, W): predict every byte, the first one from BOS
        s = self.stream(x, mask)
        S = s["latent"].shape[1]
        done = torch.arange(S, device=x.device)[None, None, :] <= s["patch_of"][..., None]  # (B, W, S): slots 0..j
        y = self.unpool(s["encoder"][:, :-1], self.from_latent(s["latent"]).to(s["encoder"].dtype), done[:, None])
        y = self.decoder(y, causal=True, window=self.cfg.attention_window)  # (B, W, d)
        logp = F.log_softmax(self.head(y).float(), dim=-1)  # (B, W, 256)
        lp = logp.gather(-1, x[..., None])[..., 0] * mask  # (B, W)
        return ModelOutput(byte_logprobs=lp, byte_mask=mask, boundaries=s["starts"],
                           hidden={"byte": y, "latent": s["latent"], "encoder": s["encoder"]},
                           **byte_greedy_hits(logp, x, self.training))

    @torch.no_grad()
    def analytic_flops(self, batch) -> float:
        """Forward FLOPs of a one-window batch: the entropy model, the encoder over BOS and the W bytes, the
        two cross-attentions over all their keys, the latent stack over its slots, the decoder and the head;
        with as many patches as θ draws on the window (or as ``planned_chunk_bytes`` implies, when set)."""
        enc, bb, dec, window = self.cfg.encoder, self.cfg.backbone, self.cfg.decoder, self.cfg.attention_window
        W, d = batch.bytes.shape[1], enc.d_model
        if self.planned_chunk_bytes:
            S = max(round(int(batch.byte_mask.sum()) / self.planned_chunk_bytes), 1) + 1
        else:
            S = int(self.patch_starts(batch.bytes, batch.byte_mask).sum()) + 1
        total = self.entropy.analytic_flops(batch)
        total += stack_flops(W + 1, W + 1, d, enc.n_layers, window) + CrossAttention.flops(S, W + 1, d)
        total += linear_flops(S, d, bb.d_model) + stack_flops(S, S, bb.d_model, bb.n_layers)
        total += linear_flops(S, bb.d_model, d) + CrossAttention.flops(W, S, d)
        return total + stack_flops(W, W, d, dec.n_layers, window) + linear_flops(W, d, 256)

    @torch.no_grad()
    def word_readings(self, batch) -> dict[str, torch.Tensor]:
        """The two readings of a word, for a batch whose windows each hold one word " word" (n bytes).

        The model reads " word " (one space appended, as SpaceByte and H-Net read a word): the latent slot of
        the patch that holds the closing space is the first that has read the whole word, since patches
        often start at the hard first byte of the next word and so end with the space before it.

        - ``input`` (B, d_bb): what the latent transformer receives for the word, the mean of its inputs at the
          slots of the window's patches (1 .. that of the closing space);
        - ``output`` (B, d_bb): the latent transformer's output at the slot of the closing space's patch.

        In running text the two agree with the states at the same slots whenever a patch starts right after
        the closing space; otherwise that patch runs on, and its slot there reads bytes after the word."""
        ids, real = with_closing_space(batch, BYTE_BOS)  # (B, n+2): BOS, " word", " "
        s = self.stream(ids[:, 1:], real[:, 1:])
        rows = torch.arange(len(ids), device=ids.device)
        last = s["patch_of"][rows, real.sum(1) - 2] + 1  # (B,) slot of the closing space's patch
        slot = torch.arange(s["latent"].shape[1], device=ids.device)[None, :]  # (1, S)
        m = ((slot >= 1) & (slot <= last[:, None]))[..., None].to(s["latent_in"].dtype)  # (B, S, 1)
        return {"input": (s["latent_in"] * m).sum(1) / m.sum(1), "output": s["latent"][rows, last]}
