"""Corpus splits encoded once into memory-mapped arrays, so a large corpus is read and tokenized
once, not at every run or step.

``encode_split(texts, out_dir)`` writes, for documents joined by a blank line:

    bytes.u8          uint8  (n_bytes,)     the UTF-8 stream
    doc_starts.npy    int64  (n_docs + 1,)  byte offset where each document starts (its separator
                                            first, after the first document), then the end
    ids.u16|ids.u32   (n_tokens,)           with a tokenizer: each document's BPE ids, concatenated
                                            (uint16 while the vocabulary fits in it)
    token_starts.npy  int64  (n_docs + 1,)  token offset where each document starts, then the end
    encoded.json      dtypes, counts and the vocabulary size

``WindowSampler.from_encoded`` draws its windows inside each document's byte range. Documents are
encoded in batches with the tokenizer's parallel ``encode_batch`` and written as they come (memory
stays bounded by one batch), under a progress bar. ``load_encoded`` maps the arrays read-only
without reading them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from byteword.provenance import atomic_path

SEPARATOR = "\n\n"  # between documents in the stream


def ids_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype holding every id of a vocabulary."""
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)


def _batches(texts, size):
    for i in range(0, len(texts), size):
        yield texts[i: i + size]


def encode_split(texts: list[str], out_dir, tokenizer=None, batch_docs: int = 1024) -> dict:
    """Write the arrays above into ``out_dir`` and return the contents of ``encoded.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dtype = ids_dtype(tokenizer.get_vocab_size()) if tokenizer is not None else None
    names = {"bytes": "bytes.u8"}
    if tokenizer is not None:
        names["ids"] = f"ids.{'u16' if dtype == np.uint16 else 'u32'}"
    tmp = {k: atomic_path(out_dir / v) for k, v in names.items()}
    files = {k: open(p, "wb") for k, p in tmp.items()}
    doc_starts, token_starts = [0], [0]
    try:
        bar = tqdm(total=len(texts), unit="doc", desc="encoding", file=sys.stderr, mininterval=2)
        for batch in _batches(texts, batch_docs):
            encodings = tokenizer.encode_batch(batch, add_special_tokens=False) if tokenizer is not None else None
            for j, text in enumerate(batch):
                data = (text if doc_starts[-1] == 0 else SEPARATOR + text).encode("utf-8")
                files["bytes"].write(data)
                doc_starts.append(doc_starts[-1] + len(data))
                if encodings is not None:
                    ids = np.asarray(encodings[j].ids, dtype=dtype)
                    files["ids"].write(ids.tobytes())
                    token_starts.append(token_starts[-1] + len(ids))
            bar.update(len(batch))
        bar.close()
    finally:
        for f in files.values():
            f.close()
    for k, p in tmp.items():
        os.replace(p, out_dir / names[k])
    np.save(out_dir / "doc_starts.npy", np.asarray(doc_starts, dtype=np.int64))
    meta = {"files": names, "n_docs": len(texts), "n_bytes": doc_starts[-1]}
    if tokenizer is not None:
        np.save(out_dir / "token_starts.npy", np.asarray(token_starts, dtype=np.int64))
        meta.update(ids_dtype=dtype.name, vocab_size=tokenizer.get_vocab_size(), n_tokens=token_starts[-1])
    (out_dir / "encoded.json").write_text(json.dumps(meta, indent=1))
    return meta


def load_encoded(out_dir) -> dict:
    """Read-only memory maps of an encoded split: bytes, doc_starts (and ids, token_starts)."""
    out_dir = Path(out_dir)
    meta_path = out_dir / "encoded.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{out_dir} holds no encoded split (no encoded.json); run encode_split first")
    meta = json.loads(meta_path.read_text())
    files = meta["files"]

    def mapped(name, dtype):
        path = out_dir / files[name]
        # np.memmap refuses empty files; an empty split maps to an empty array
        return np.memmap(path, dtype=dtype, mode="r") if path.stat().st_size else np.zeros(0, dtype)

    arrays = {"meta": meta, "bytes": mapped("bytes", np.uint8),
              "doc_starts": np.load(out_dir / "doc_starts.npy", mmap_mode="r")}
    if "ids" in files:
        arrays["ids"] = mapped("ids", np.dtype(meta["ids_dtype"]))
        arrays["token_starts"] = np.load(out_dir / "token_starts.npy", mmap_mode="r")
    return arrays
