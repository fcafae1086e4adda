"""Corpus sources, cleaning, splits and cards: offline, with known answers."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile

import pandas as pd
import pytest

from byteword.corpus import (CorpusConfig, CorpusError, SplitConfig, corpus_config_from_dict, load_documents,
                             prepare_corpus, read_split, split_documents)
from byteword.datasets import DatasetError, gensim_test_data


@pytest.fixture(scope="module")
def wiki_docs():
    return load_documents(CorpusConfig("wiki", {"kind": "gensim_wiki"}))


def local_cfg(paths, **kw):
    return CorpusConfig("local", {"kind": "local", "paths": [str(p) for p in paths]}, **kw)


def docs_frame(texts):
    return pd.DataFrame({"doc_id": [f"d{i}" for i in range(len(texts))], "text": texts, "language": "en",
                         "n_bytes": [len(t.encode()) for t in texts]})


def test_gensim_default_is_clean_plain_text(wiki_docs):
    assert list(wiki_docs.columns) == ["doc_id", "text", "language", "n_bytes"]
    assert 50 < len(wiki_docs) < 150
    assert wiki_docs["n_bytes"].sum() > 1_000_000
    assert wiki_docs["n_bytes"].dtype == "int64"
    assert wiki_docs["doc_id"].is_unique
    assert "12" in set(wiki_docs["doc_id"])   # page id of "Anarchism", the first article of the dump
    text = "\n".join(wiki_docs["text"])
    for markup in ("[[", "{{", "'''", "\n\n\n"):
        assert markup not in text
    assert not any(t.lower().startswith("#redirect") for t in wiki_docs["text"])
    assert all(t == t.strip() and t for t in wiki_docs["text"])
    assert (wiki_docs["n_bytes"] == wiki_docs["text"].map(lambda t: len(t.encode())).to_numpy()).all()


def test_gensim_other_dump_and_missing_file():
    bg = load_documents(CorpusConfig("bg", {"kind": "gensim_wiki",
                                            "file": "bgwiki-latest-pages-articles-shortened.xml.bz2"}, language="bg"))
    assert len(bg) == 1 and bg["language"].iloc[0] == "bg"   # the two Wikipedia: project pages are dropped
    assert any("\u0400" <= ch <= "\u04ff" for ch in bg["text"].iloc[0])   # Cyrillic
    with pytest.raises(DatasetError, match="no-such-dump"):
        gensim_test_data("no-such-dump.bz2")


def test_max_bytes_caps_at_character_boundary(tmp_path):
    (tmp_path / "a.txt").write_text("é" * 10)   # 20 bytes
    (tmp_path / "b.txt").write_text("never read")
    docs = load_documents(local_cfg([tmp_path / "a.txt", tmp_path / "b.txt"], max_bytes=7))
    assert docs["text"].tolist() == ["ééé"] and docs["n_bytes"].tolist() == [6]


def test_document_hash_split_is_deterministic_disjoint_and_complete(wiki_docs):
    split = SplitConfig(valid_fraction=0.1, test_fraction=0.1)
    a, b = split_documents(wiki_docs, split), split_documents(wiki_docs, split)
    ids = {name: set(df["doc_id"]) for name, df in a.items()}
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
        assert len(a[name]) > 0
    assert not (ids["train"] & ids["valid"] or ids["train"] & ids["test"] or ids["valid"] & ids["test"])
    assert ids["train"] | ids["valid"] | ids["test"] == set(wiki_docs["doc_id"])
    # Assignment depends on the doc_id only: a shuffled corpus splits identically.
    shuffled = split_documents(wiki_docs.sample(frac=1, random_state=0), split)
    assert {name: set(df["doc_id"]) for name, df in shuffled.items()} == ids


def test_document_hash_split_fills_empty_splits_of_tiny_corpora():
    docs = docs_frame(["one", "two", "three"])
    splits = split_documents(docs, SplitConfig(valid_fraction=0.01, test_fraction=0.01))
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [1, 1, 1]
    assert split_documents(docs, SplitConfig(valid_fraction=0.01, test_fraction=0.01))["test"].equals(splits["test"])
    no_valid = split_documents(docs, SplitConfig(valid_fraction=0.0, test_fraction=0.01))   # a zero fraction stays empty
    assert [len(no_valid[s]) for s in ("train", "valid", "test")] == [2, 0, 1]


def test_contiguous_split_concatenates_back_and_respects_fractions(wiki_docs):
    joined = "\n".join(wiki_docs["text"])
    splits = split_documents(wiki_docs, SplitConfig("contiguous", valid_fraction=0.1, test_fraction=0.05))
    assert "".join(df["text"].iloc[0] for df in splits.values()) == joined
    total = len(joined.encode())
    for name, frac in (("train", 0.85), ("valid", 0.1), ("test", 0.05)):
        df = splits[name]
        assert df["doc_id"].tolist() == [f"{name}-0"]
        assert abs(df["n_bytes"].iloc[0] - frac * total) <= 70   # cut moves at most 32 bytes, to a newline/space
    assert splits["valid"]["text"].iloc[0][0] in " \n"


def test_contiguous_split_never_cuts_a_character():
    text = "é" * 1001 + "😀" * 1001   # no spaces: cuts fall on character boundaries only
    splits = split_documents(docs_frame([text]), SplitConfig("contiguous", valid_fraction=0.25, test_fraction=0.25))
    assert "".join(df["text"].iloc[0] for df in splits.values()) == text
    total = len(text.encode())
    assert abs(splits["train"]["n_bytes"].iloc[0] - total / 2) <= 3
    assert abs(splits["test"]["n_bytes"].iloc[0] - total / 4) <= 3


def test_local_txt_jsonl_parquet_round_trip(tmp_path):
    (tmp_path / "a.txt").write_text("Hello wörld.\nSecond line.\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"body": "json\u2028one"}, ensure_ascii=False) + "\n\n" + json.dumps({"body": "json 2"}) + "\n")
    pd.DataFrame({"body": ["parquet one", "parquet two", ""]}).to_parquet(tmp_path / "c.parquet")
    paths = [tmp_path / "a.txt", tmp_path / "b.jsonl", tmp_path / "c.parquet"]
    source = {"kind": "local", "paths": [str(p) for p in paths], "text_field": "body"}
    docs = load_documents(CorpusConfig("mix", source, language="de"))
    assert docs["text"].tolist() == ["Hello wörld.\nSecond line.\n", "json\u2028one", "json 2", "parquet one", "parquet two"]
    assert docs["n_bytes"].tolist() == [27, 10, 6, 11, 11]
    assert set(docs["language"]) == {"de"} and docs.attrs["replaced_characters"] == 0

    cfg = CorpusConfig("mix", source, split=SplitConfig("contiguous", valid_fraction=0.2, test_fraction=0.2))
    card = prepare_corpus(cfg, tmp_path / "out")
    back = {name: read_split(tmp_path / "out" / f"{name}.parquet") for name in ("train", "valid", "test")}
    assert "".join(df["text"].iloc[0] for df in back.values()) == "\n".join(docs["text"])
    assert json.loads((tmp_path / "out" / "card.json").read_text()) == json.loads(json.dumps(card))
    for name, df in back.items():
        assert card["splits"][name]["sha256"] == hashlib.sha256(df["text"].iloc[0].encode()).hexdigest()
        assert card["splits"][name]["bytes"] == df["n_bytes"].sum()


def test_undecodable_bytes_are_replaced_and_counted(tmp_path, caplog):
    (tmp_path / "bad.txt").write_bytes(b"ok \xff\xfe then \xe2\x82 and a real \xef\xbf\xbd end")
    cfg = local_cfg([tmp_path / "bad.txt"], split=SplitConfig("contiguous", valid_fraction=0.2, test_fraction=0.2))
    with caplog.at_level("WARNING", logger="byteword.corpus"):
        docs = load_documents(cfg)
    assert docs["text"].iloc[0] == "ok \ufffd\ufffd then \ufffd and a real \ufffd end"
    assert docs.attrs["replaced_characters"] == 3   # the genuine U+FFFD is not counted
    assert "replaced" in caplog.text and "bad.txt" in caplog.text
    assert prepare_corpus(cfg, tmp_path / "out")["replaced_characters"] == 3


def test_prepare_default_card(tmp_path):
    card = prepare_corpus(CorpusConfig("wiki", {"kind": "gensim_wiki"}, max_bytes=300_000), tmp_path / "wiki")
    assert set(card) >= {"name", "source", "language", "split", "replaced_characters", "splits"}
    assert sum(card["splits"][s]["bytes"] for s in card["splits"]) == 300_000
    for name in ("train", "valid", "test"):
        df = read_split(tmp_path / "wiki" / f"{name}.parquet")
        assert card["splits"][name]["documents"] == len(df) > 0
        assert card["splits"][name]["characters"] == df["text"].str.len().sum()
        assert card["splits"][name]["sha256"] == hashlib.sha256("\n".join(df["text"]).encode()).hexdigest()
    assert not list((tmp_path / "wiki").glob(".*tmp*"))   # no temporary files left behind


def test_config_from_dict():
    cfg = corpus_config_from_dict("enwik8", {"source": {"kind": "url", "url": "http://x/enwik8.zip", "sha256": "0"},
                                             "max_bytes": 1000, "split": {"mode": "contiguous"}})
    assert cfg.split == SplitConfig("contiguous") and cfg.max_bytes == 1000 and cfg.language == "en"
    with pytest.raises(CorpusError, match="source kind"):
        corpus_config_from_dict("x", {"source": {"kind": "ftp"}})
    with pytest.raises(CorpusError, match="split mode"):
        SplitConfig("random")


def test_missing_local_file(tmp_path):
    with pytest.raises(CorpusError, match="does not exist") as err:
        load_documents(local_cfg([tmp_path / "nope.txt"]))
    assert "nope.txt" in str(err.value)


def test_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(CorpusError, match="empty"):
        load_documents(local_cfg([tmp_path / "empty.txt"]))


def test_url_source_checksum_cache_and_zip(tmp_path):
    payload = "enwik-like text, one document\n" * 50
    (tmp_path / "data.txt").write_text(payload)
    good = hashlib.sha256(payload.encode()).hexdigest()
    url = (tmp_path / "data.txt").as_uri()
    docs = load_documents(CorpusConfig("u", {"kind": "url", "url": url, "sha256": good}), cache_dir=tmp_path / "dl")
    assert docs["text"].tolist() == [payload]
    (tmp_path / "data.txt").unlink()   # the second read comes from the verified cache
    assert load_documents(CorpusConfig("u", {"kind": "url", "url": url, "sha256": good}),
                          cache_dir=tmp_path / "dl")["text"].tolist() == [payload]

    with zipfile.ZipFile(tmp_path / "data.zip", "w") as zf:
        zf.writestr("data", payload)
    zsha = hashlib.sha256((tmp_path / "data.zip").read_bytes()).hexdigest()
    cfg = CorpusConfig("z", {"kind": "url", "url": (tmp_path / "data.zip").as_uri(), "sha256": zsha},
                       split=SplitConfig("contiguous"))
    assert load_documents(cfg, cache_dir=tmp_path / "dl")["text"].tolist() == [payload]


def test_sha256_mismatch(tmp_path):
    (tmp_path / "data.txt").write_text("some text")
    actual = hashlib.sha256(b"some text").hexdigest()
    cfg = CorpusConfig("u", {"kind": "url", "url": (tmp_path / "data.txt").as_uri(), "sha256": "0" * 64})
    with pytest.raises(CorpusError, match="sha256 mismatch") as err:
        prepare_corpus(cfg, tmp_path / "out" / "u")
    assert actual in str(err.value) and "0" * 64 in str(err.value)
    assert not list((tmp_path / "out" / "_downloads").iterdir())   # nothing unverified stays in the cache


def test_unreachable_url(tmp_path):
    cfg = CorpusConfig("u", {"kind": "url", "url": "http://127.0.0.1:9/enwik8.zip", "sha256": "0" * 64})
    with pytest.raises(CorpusError, match="could not download") as err:
        load_documents(cfg, cache_dir=tmp_path)
    assert "127.0.0.1:9" in str(err.value)


def test_min_split_bytes_too_large(tmp_path):
    (tmp_path / "a.txt").write_text("word " * 200)
    cfg = local_cfg([tmp_path / "a.txt"], min_split_bytes=500,
                    split=SplitConfig("contiguous", valid_fraction=0.1, test_fraction=0.1))
    with pytest.raises(CorpusError, match="min_split_bytes") as err:
        prepare_corpus(cfg, tmp_path / "out")
    assert "'valid'" in str(err.value)
    assert not (tmp_path / "out" / "card.json").exists()


def test_too_few_documents_for_hash_split(tmp_path):
    (tmp_path / "a.txt").write_text("only one document")
    with pytest.raises(CorpusError, match="contiguous"):
        prepare_corpus(local_cfg([tmp_path / "a.txt"]), tmp_path / "out")


def test_unreachable_huggingface_dataset(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Modules imported earlier in the session (e.g. by transformers) read the variable at import time.
    for module, names in (("huggingface_hub.constants", ["HF_HUB_OFFLINE"]),
                          ("datasets.config", ["HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"])):
        for name in names:
            if module in sys.modules and hasattr(sys.modules[module], name):
                monkeypatch.setattr(sys.modules[module], name, True)
    cfg = CorpusConfig("hf", {"kind": "huggingface", "repo": "byteword-nonexistent/no-such-dataset"}, max_bytes=100)
    with pytest.raises(CorpusError, match="unreachable") as err:
        load_documents(cfg)
    assert "byteword-nonexistent/no-such-dataset" in str(err.value) and "HF_HUB_OFFLINE" in str(err.value)
