"""A small user API: ``byteword.load(run_dir)`` returns a model that scores text in bits per byte
and generates bytes. Works on any family, since each one returns the same output type."""

from __future__ import annotations

from pathlib import Path

import torch

from byteword.data import eval_windows
from byteword.evaluation.bpb import score_windows
from byteword.models import model_class
from byteword.record import RunRecord, read_record


class LoadedModel:
    """A model with its tokenizer (None for raw bytes), the context it was trained at and, when loaded from
    a run's folder, that run's record."""

    def __init__(self, model, tokenizer, context_bytes: int, record: RunRecord | None = None):
        self.model, self.tokenizer, self.record = model.eval(), tokenizer, record
        self.context_bytes = context_bytes

    @property
    def name(self) -> str:
        return self.model.cfg.name

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def batch(self, windows: list[bytes]):
        return self.model.collate(windows, self.tokenizer)

    def bpb(self, text: str, stride_bytes: int | None = None) -> float:
        """Bits per byte of ``text`` as the workflow scores a document: windows of the training context,
        each scoring its last ``stride_bytes`` (default half the context) after the bytes before it."""
        if not text:
            raise ValueError("cannot score an empty text")
        windows = eval_windows([text], self.context_bytes, stride_bytes or self.context_bytes // 2,
                               tokenizer=self.tokenizer)
        return score_windows(self.model, windows, self.tokenizer).bpb

    @torch.no_grad()
    def next_byte_logprobs(self, prefix: bytes) -> torch.Tensor:
        """(256,) log-probabilities of the byte after ``prefix``: the model scores every prefix + b (one batch of
        256 candidates) and they are normalised. Exact for byte transformers; for BPE it uses the canonical
        tokenization, and for hierarchical models the segmentation the splitter gives prefix + b."""
        prefix = prefix[-(self.context_bytes - 1):]
        candidates = [prefix + bytes([b]) for b in range(256)]
        valid = [self._decodable(c) for c in candidates]
        scores = torch.full((256,), -float("inf"))
        idx = [b for b in range(256) if valid[b]]
        out = self.model(self.batch([candidates[b] for b in idx]).to(self.device))
        # log p(prefix + b) as an unfinished text (no family credits the last word's end-of-word)
        total = (out.byte_logprobs * out.byte_mask).sum(1)
        scores[idx] = total.float().cpu()
        return torch.log_softmax(scores, dim=0)

    @staticmethod
    def _decodable(b: bytes) -> bool:
        try:
            b.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False

    def generate(self, prompt: str, n_bytes: int = 64, temperature: float = 1.0, seed: int = 0) -> str:
        """Sample ``n_bytes`` bytes after ``prompt`` (greedy when temperature is 0), one byte at a time.
        Only bytes that leave valid UTF-8 are candidates (BPE and word models read text, not partial
        characters), so the result always decodes; multi-byte characters are not generated yet."""
        gen = torch.Generator().manual_seed(seed)
        out = prompt.encode("utf-8")
        for _ in range(n_bytes):
            logp = self.next_byte_logprobs(out)
            if temperature == 0:
                b = int(logp.argmax())
            else:
                b = int(torch.multinomial(torch.softmax(logp / temperature, 0), 1, generator=gen))
            out += bytes([b])
        return out.decode("utf-8")


def load(path, device: str = "cpu") -> LoadedModel:
    """Load ``model.safetensors`` + ``model.json`` (+ ``tokenizer.json`` for BPE; an imported model's ``hf/``
    folder instead of the safetensors) from a pretrain folder onto ``device`` (e.g. "cpu", "cuda"); batches
    stay on the CPU until the model reads them."""
    path = Path(path)
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"cannot load {path} onto {device!r}: this torch ({torch.__version__}) sees no CUDA device; "
                           "evaluate on the CPU (training.gpus_per_job: 0) or run on a GPU node")
    record = read_record(path / "model.json")
    tokenizer = None
    if record.model.tokenizer_name:
        from byteword.tokenization import load_tokenizer

        tokenizer = load_tokenizer(path / "tokenizer.json")  # a copy written beside the weights at training time
    model = model_class(record.model.family).from_run(record.model, path, tokenizer)
    return LoadedModel(model.to(device), model.window_tokenizer(tokenizer), record.training.context_bytes, record)
