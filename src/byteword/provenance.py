"""Provenance for every artifact: config hash, code version, package versions; atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import byteword

PACKAGES = ("torch", "tokenizers", "transformers", "numpy", "pandas", "pyarrow", "safetensors", "gensim")


def config_hash(section) -> str:
    """A short, order-independent hash of a JSON-serialisable config section."""
    blob = json.dumps(section, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


@lru_cache(maxsize=1)
def code_version() -> str:
    """Package version plus the git commit of the source tree when there is one ("0.1.0+abc1234").
    Cached: one git call per process, however many tables it stamps."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return f"{byteword.__version__}+{out.stdout.strip()}"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return byteword.__version__


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def with_provenance(df: pd.DataFrame, *, experiment: str, corpus: str, tokenizer: str = "", model: str = "",
                    seed: int | str = "", cfg_hash: str = "") -> pd.DataFrame:
    """Prepend the identifying columns every Parquet row carries."""
    df = df.copy()
    ident = {"experiment": experiment, "corpus": corpus, "tokenizer": tokenizer, "model": model,
             "seed": str(seed), "config_hash": cfg_hash, "code_version": code_version()}
    for i, (k, v) in enumerate(ident.items()):
        if k in df.columns:
            df = df.drop(columns=k)
        df.insert(i, k, v)
    return df


def atomic_path(path: str | os.PathLike) -> Path:
    """A temporary sibling of ``path`` to write into before ``os.replace`` moves it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, fixed_size_lists: dict[str, int] | None = None) -> None:
    """Write a DataFrame to Parquet atomically (temporary name, then rename). Columns named in
    ``fixed_size_lists`` (name -> length) hold equal-length float vectors, stored as FixedSizeList(float32)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    for name, size in (fixed_size_lists or {}).items():
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).cast(pa.list_(pa.float32(), size)))
    tmp = atomic_path(path)
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def write_json(obj, path: str | os.PathLike) -> None:
    tmp = atomic_path(path)
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)
