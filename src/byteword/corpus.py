"""Corpora: read a source, clean it, split it deterministically, write Parquet splits and a card.

Sources (``source["kind"]``): ``gensim_wiki`` (a MediaWiki dump inside the gensim wheel: offline,
the default), ``huggingface`` (a ``datasets`` repo, streamed), ``url`` (one checksummed file, maybe
zipped, read as ONE document, as enwik8) and ``local`` (.txt = one document per file, .jsonl = one
per line, .parquet = one per row). Document tables have the columns ``doc_id`` (str), ``text``
(str), ``language`` (str) and ``n_bytes`` (int64, UTF-8 length of ``text``).
"""

from __future__ import annotations

import bz2
import hashlib
import http.client
import json
import logging
import os
import re
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
from tqdm import tqdm

from byteword.datasets import gensim_test_data
from byteword.provenance import atomic_path, code_version, write_json, write_parquet

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
COLUMNS = ["doc_id", "text", "language", "n_bytes"]
DEFAULT_WIKI_DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
# a url source needs its sha256: a download is only used when it matches, so results never rest on
# an unverified file
REQUIRED_SOURCE_KEYS = {"gensim_wiki": [], "huggingface": ["repo"], "url": ["url", "sha256"], "local": ["paths"]}
QUOTE_RUNS = re.compile(r"'{2,}")                        # ''italic'', '''bold''', '''''both'''''
GALLERY_LINES = re.compile(r"^(?:File|Image):[^\n]*\n?", re.MULTILINE | re.IGNORECASE)
MANY_NEWLINES = re.compile(r"\n{3,}")


class CorpusError(RuntimeError):
    """A corpus could not be prepared; the message says what happened and what to do."""


@dataclass(frozen=True)
class SplitConfig:
    mode: str = "document_hash"      # or "contiguous"
    valid_fraction: float = 0.05
    test_fraction: float = 0.05

    def __post_init__(self):
        if self.mode not in ("document_hash", "contiguous"):
            raise CorpusError(f"unknown split mode {self.mode!r}; use 'document_hash' or 'contiguous'")
        v, t = self.valid_fraction, self.test_fraction
        if not (0 <= v < 1 and 0 <= t < 1 and v + t < 1):
            raise CorpusError(f"split fractions valid={v}, test={t} must lie in [0, 1) and sum to less than 1")


@dataclass(frozen=True)
class CorpusConfig:
    name: str
    source: dict
    language: str = "en"
    max_bytes: int | None = None     # stop reading once this many UTF-8 bytes of text were collected
    split: SplitConfig = SplitConfig()
    min_split_bytes: int = 0         # each of train/valid/test must hold at least this many bytes

    def __post_init__(self):
        kind = self.source.get("kind") if isinstance(self.source, dict) else None
        if kind not in REQUIRED_SOURCE_KEYS:
            raise CorpusError(f"corpus {self.name!r}: unknown source kind {kind!r}; use one of "
                              f"{sorted(REQUIRED_SOURCE_KEYS)}")
        if missing := [k for k in REQUIRED_SOURCE_KEYS[kind] if k not in self.source]:
            raise CorpusError(f"corpus {self.name!r}: a {kind!r} source needs the keys {missing}; add them")
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise CorpusError(f"corpus {self.name!r}: max_bytes must be positive or null, got {self.max_bytes}")


def corpus_config_from_dict(name: str, d: dict) -> CorpusConfig:
    """Build a typed config from one corpus entry of the (schema-validated) YAML config."""
    if "source" not in d:
        raise CorpusError(f"corpus {name!r} has no 'source'; add e.g. source: {{kind: gensim_wiki}}")
    return CorpusConfig(name=name, source=dict(d["source"]), language=d.get("language", "en"),
                        max_bytes=d.get("max_bytes"), split=SplitConfig(**(d.get("split") or {})),
                        min_split_bytes=int(d.get("min_split_bytes") or 0))



def decode_utf8(data: bytes, origin: str, stats: dict) -> str:
    """Decode UTF-8, replacing invalid sequences by U+FFFD; adds their count to ``stats``."""
    text = data.decode("utf-8", errors="replace")
    # A genuine U+FFFD in the input is the valid sequence EF BF BD, which decoding never swallows.
    replaced = text.count("\ufffd") - data.count("\ufffd".encode())
    if replaced:
        log.warning("%s: %d invalid UTF-8 sequence(s) replaced by U+FFFD", origin, replaced)
        stats["replaced_characters"] += replaced
    return text


def clean_wiki(raw: str) -> str:
    """Plain text of one article's wikitext; '' for a redirect."""
    from gensim.corpora.wikicorpus import filter_wiki

    if raw.lstrip().lower().startswith("#redirect"):
        return ""
    text = GALLERY_LINES.sub("", QUOTE_RUNS.sub("", filter_wiki(raw)))   # gallery: "File:x.jpg|caption"
    return MANY_NEWLINES.sub("\n\n", text).strip()


# Each source yields (doc_id, text) lazily, so reading stops as soon as max_bytes is reached.

def _gensim_wiki(source: dict, stats: dict) -> Iterator[tuple[str, str]]:
    from gensim.corpora.wikicorpus import extract_pages

    path = gensim_test_data(source.get("file", DEFAULT_WIKI_DUMP))
    log.info("reading MediaWiki dump %s", path)
    with bz2.open(path, "rb") as f:
        pages = extract_pages(f, filter_namespaces=("0",))   # articles only, no Wikipedia:/Talk: pages
        for _title, raw, page_id in tqdm(pages, desc="wiki pages", unit="page", file=sys.stderr, mininterval=2):
            if text := clean_wiki(raw):
                yield str(page_id), text


def _huggingface(source: dict, stats: dict) -> Iterator[tuple[str, str]]:
    repo, text_field = source["repo"], source.get("text_field", "text")
    try:
        import datasets

        rows = datasets.load_dataset(repo, source.get("config"), split=source.get("split", "train"), streaming=True)
        for i, row in enumerate(rows):
            if text_field not in row:
                raise CorpusError(f"Hugging Face dataset {repo!r} has no field {text_field!r} (fields: "
                                  f"{sorted(row)}); set source.text_field to one of them")
            yield str(i), row[text_field] or ""
    except CorpusError:
        raise
    except Exception as exc:   # offline, unknown repo or config, connection lost while streaming
        raise CorpusError(f"Hugging Face dataset {repo!r} is unreachable ({type(exc).__name__}: {exc}); check the "
                          f"network, that HF_HUB_OFFLINE is unset (or the dataset is cached), and the repo name"
                          ) from exc


def _download(url: str, sha256: str | None, cache_dir: Path) -> Path:
    """Fetch ``url`` into ``cache_dir`` (atomically) unless a copy with the right checksum is there."""
    name = re.sub(r"[^\w.-]", "_", url.rstrip("/").rsplit("/", 1)[-1]) or "download"
    target = cache_dir / (f"{sha256[:16]}-{name}" if sha256 else name)
    if sha256 and target.is_file():
        with open(target, "rb") as f:
            if hashlib.file_digest(f, "sha256").hexdigest() == sha256.lower():
                log.info("using cached %s", target)
                return target
    tmp, digest = atomic_path(target), hashlib.sha256()
    log.info("downloading %s to %s", url, target)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (OSError, ValueError, http.client.HTTPException) as exc:   # URLError, HTTPError, timeouts are OSErrors
        tmp.unlink(missing_ok=True)
        raise CorpusError(f"could not download {url} ({exc}); check the URL and the network, or put the file "
                          f"there by hand: {target}") from exc
    if (actual := digest.hexdigest()) != (sha256 or "").lower():
        tmp.unlink(missing_ok=True)
        raise CorpusError(f"sha256 mismatch for {url}: expected {sha256}, got {actual}; fix the checksum "
                          f"(source.sha256) or the URL in the config")
    os.replace(tmp, target)
    return target


def _url(source: dict, stats: dict, cache_dir: Path) -> Iterator[tuple[str, str]]:
    url, member = source["url"], source.get("member")
    path = _download(url, source.get("sha256"), cache_dir)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if not m.endswith("/")]
            member = member or (members[0] if len(members) == 1 else None)
            if member not in members:
                raise CorpusError(f"zip {url} holds {members}; set source.member to the one to read")
            data = zf.read(member)
    else:
        data = path.read_bytes()
    yield member or url.rstrip("/").rsplit("/", 1)[-1], decode_utf8(data, url, stats)


def _local(source: dict, stats: dict) -> Iterator[tuple[str, str]]:
    text_field = source.get("text_field", "text")
    for p in map(Path, [source["paths"]] if isinstance(source["paths"], str) else source["paths"]):
        if not p.is_file():
            raise CorpusError(f"local corpus file {p} does not exist (working directory {Path.cwd()}); "
                              f"fix source.paths")
        suffix = p.suffix.lower()
        if suffix == ".txt":
            yield str(p), decode_utf8(p.read_bytes(), str(p), stats)
        elif suffix == ".jsonl":
            for lineno, line in enumerate(decode_utf8(p.read_bytes(), str(p), stats).split("\n"), 1):
                try:
                    row = json.loads(line) if line.strip() else {text_field: ""}
                    yield f"{p}:{lineno}", str(row[text_field] or "")
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise CorpusError(f"{p}:{lineno} is not a JSON object with a {text_field!r} field ({exc!r}); "
                                      f"fix that line or set source.text_field") from exc
        elif suffix == ".parquet":
            table = pd.read_parquet(p)
            if text_field not in table.columns:
                raise CorpusError(f"{p} has no column {text_field!r} (columns: {list(table.columns)}); "
                                  f"set source.text_field")
            yield from ((f"{p}:{i}", t) for i, t in enumerate(table[text_field].fillna("").astype(str)))
        else:
            raise CorpusError(f"{p}: unsupported file type {suffix!r}; use .txt, .jsonl or .parquet")


def _collect(records: Iterable[tuple[str, str]], max_bytes: int | None) -> tuple[list, list]:
    """Gather non-blank documents until ``max_bytes``; the one crossing it is cut at a character boundary."""
    ids, texts, total = [], [], 0
    for doc_id, text in records:
        if not isinstance(text, str):
            raise CorpusError(f"document {doc_id!r} is a {type(text).__name__}, not text; fix source.text_field")
        if not text.strip():
            continue
        n = len(text.encode("utf-8"))
        full = max_bytes is not None and total + n >= max_bytes
        if full:   # cut the last document to fit the cap
            text = text.encode("utf-8")[:max_bytes - total].decode("utf-8", errors="ignore")
        if text:
            ids.append(doc_id)
            texts.append(text)
        if full:
            break
        total += n
    return ids, texts


def _documents_frame(ids: list, texts: list, language: str) -> pd.DataFrame:
    return pd.DataFrame({"doc_id": pd.Series(ids, dtype=str), "text": pd.Series(texts, dtype=str),
                         "language": pd.Series([language] * len(texts), dtype=str),
                         "n_bytes": np.array([len(t.encode("utf-8")) for t in texts], dtype=np.int64)})


def load_documents(cfg: CorpusConfig, cache_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read, clean and cap a corpus; ``df.attrs["replaced_characters"]`` counts U+FFFD substitutions.

    ``cache_dir`` keeps downloads of ``url`` sources (default: ``<tmp>/byteword-downloads``).
    """
    stats = {"replaced_characters": 0}
    kind = cfg.source["kind"]
    if kind == "url":
        cache = Path(cache_dir) if cache_dir is not None else Path(tempfile.gettempdir()) / "byteword-downloads"
        cache.mkdir(parents=True, exist_ok=True)
        records = _url(cfg.source, stats, cache)
    else:
        records = {"gensim_wiki": _gensim_wiki, "huggingface": _huggingface, "local": _local}[kind](cfg.source, stats)
    df = _documents_frame(*_collect(records, cfg.max_bytes), cfg.language)
    if len(df) == 0:
        raise CorpusError(f"corpus {cfg.name!r} is empty: its source {cfg.source} gave no text; check the "
                          f"paths, the text field and max_bytes")
    if df["doc_id"].duplicated().any():
        raise CorpusError(f"corpus {cfg.name!r}: doc_id {df['doc_id'][df['doc_id'].duplicated()].iloc[0]!r} occurs "
                          f"twice; list each file only once in source.paths")
    df.attrs["replaced_characters"] = stats["replaced_characters"]
    log.info("corpus %s: %d documents, %d bytes", cfg.name, len(df), int(df["n_bytes"].sum()))
    return df


def hash_unit(doc_id: str) -> float:
    """A stable number in [0, 1) from the sha256 of ``doc_id`` (independent of PYTHONHASHSEED)."""
    return int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") / 2.0**64


def _cut_point(data: bytes, target: int, window: int = 32) -> int:
    """A cut near ``target``: before the nearest newline within ``window`` bytes, else before the
    nearest space, else at the UTF-8 character boundary at or before ``target``."""
    if target <= 0 or target >= len(data):
        return min(max(target, 0), len(data))
    for sep in b"\n ":
        hits = [p for p in range(max(1, target - window), min(len(data), target + window + 1)) if data[p] == sep]
        if hits:
            return min(hits, key=lambda p: (abs(p - target), p))
    while target > 0 and 0x80 <= data[target] < 0xC0:   # continuation byte: step back to the lead byte
        target -= 1
    return target


def split_documents(docs: pd.DataFrame, split: SplitConfig) -> dict[str, pd.DataFrame]:
    """Deterministic, disjoint train/valid/test splits.

    ``document_hash``: a document goes to test if ``hash_unit(doc_id) < test_fraction``, to valid if
    below ``test_fraction + valid_fraction``, else to train. With at least 3 documents, a split with a
    nonzero fraction that ends up empty takes, from the currently largest split, its document with the
    smallest hash value (filled in the order test, valid, train), so every such split gets a document.

    ``contiguous``: all texts joined by "\\n" are cut by bytes into (1-v-t, v, t) parts, at a newline
    or space within 32 bytes of the exact cut if there is one, always at a character boundary; each
    part is one document ``f"{split}-0"`` and the parts concatenate back to the joined text.
    """
    v, t = split.valid_fraction, split.test_fraction
    if split.mode == "contiguous":
        data = "\n".join(docs["text"]).encode("utf-8")
        c1 = _cut_point(data, round(len(data) * (1 - v - t)))
        c2 = max(c1, _cut_point(data, round(len(data) * (1 - t))))
        language = docs["language"].iloc[0] if len(docs) else ""
        out = {}
        for name, part in zip(SPLITS, (data[:c1], data[c1:c2], data[c2:])):
            texts = [part.decode("utf-8")] if part else []
            out[name] = _documents_frame([f"{name}-0"] * len(texts), texts, language)
        return out
    units = docs["doc_id"].map(hash_unit).to_numpy()
    labels = np.where(units < t, "test", np.where(units < t + v, "valid", "train")).astype(object)
    fractions = {"train": 1 - v - t, "valid": v, "test": t}
    if len(docs) >= 3:
        for name in ("test", "valid", "train"):
            if fractions[name] > 0 and not (labels == name).any():
                donor = max(SPLITS, key=lambda s: ((labels == s).sum(), -SPLITS.index(s)))
                candidates = np.flatnonzero(labels == donor)
                labels[candidates[np.argmin(units[candidates])]] = name
                log.info("split %r was empty; moved one document from %r", name, donor)
    return {name: docs.loc[labels == name, COLUMNS].reset_index(drop=True) for name in SPLITS}


def _split_summary(df: pd.DataFrame) -> dict:
    text = "\n".join(df["text"])
    return {"documents": len(df), "bytes": int(df["n_bytes"].sum()), "characters": int(df["text"].str.len().sum()),
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def check_split_sizes(splits: dict[str, pd.DataFrame], cfg: CorpusConfig) -> None:
    """Raise if a split with a nonzero fraction is empty or smaller than ``cfg.min_split_bytes``."""
    fractions = {"train": 1.0, "valid": cfg.split.valid_fraction, "test": cfg.split.test_fraction}
    for name, df in splits.items():
        size = int(df["n_bytes"].sum())
        if fractions[name] > 0 and len(df) == 0:
            hint = ", or split.mode: contiguous" if cfg.split.mode == "document_hash" else ""
            raise CorpusError(f"corpus {cfg.name!r}: split {name!r} is empty ({cfg.split.mode} split of "
                              f"{sum(map(len, splits.values()))} documents); use a larger corpus{hint}")
        if size < cfg.min_split_bytes:
            raise CorpusError(f"corpus {cfg.name!r}: split {name!r} holds {size} bytes, less than min_split_bytes="
                              f"{cfg.min_split_bytes}; use a larger corpus (max_bytes), a larger "
                              f"{name} fraction, or a smaller context length")


def prepare_corpus(cfg: CorpusConfig, out_dir: str | os.PathLike) -> dict:
    """Load, split and write ``out_dir/{train,valid,test}.parquet`` and ``out_dir/card.json``; returns the card.

    Downloads (``url`` sources) are cached in ``out_dir/../_downloads``. The card is written last.
    """
    out_dir = Path(out_dir)
    docs = load_documents(cfg, cache_dir=out_dir.parent / "_downloads")
    splits = split_documents(docs, cfg.split)
    check_split_sizes(splits, cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, df in splits.items():
        write_parquet(df, out_dir / f"{name}.parquet")
    card = {"name": cfg.name, "source": cfg.source, "language": cfg.language, "max_bytes": cfg.max_bytes,
            "split": asdict(cfg.split), "min_split_bytes": cfg.min_split_bytes,
            "replaced_characters": int(docs.attrs.get("replaced_characters", 0)),
            "splits": {name: _split_summary(df) for name, df in splits.items()},
            "code_version": code_version()}
    write_json(card, out_dir / "card.json")
    return card


def read_split(path: str | os.PathLike) -> pd.DataFrame:
    """Read one split written by ``prepare_corpus``."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"corpus split {path} does not exist; run the corpus rule first")
    df = pd.read_parquet(path)
    if missing := set(COLUMNS) - set(df.columns):
        raise CorpusError(f"{path} lacks columns {sorted(missing)}; it was not written by prepare_corpus, rerun it")
    return df[COLUMNS].astype({"doc_id": str, "language": str, "n_bytes": np.int64})
