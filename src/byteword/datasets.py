"""The evaluation data that ships inside the gensim wheel (``gensim/test/test_data/``), read from the
installed package, never copied: the Wikipedia dumps the embedded corpora come from, word-similarity
judgements (WordSim-353, SimLex-999), the analogy questions and the polarity sentences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

WORD_PAIR_FILES = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_COLUMNS = ["a", "b", "c", "d"]


class DatasetError(RuntimeError):
    """A file the installed gensim wheel does not hold."""


def gensim_test_data(filename: str) -> Path:
    """The path of ``gensim/test/test_data/<filename>`` inside the installed gensim wheel."""
    import gensim

    path = Path(gensim.__file__).resolve().parent / "test" / "test_data" / filename
    if not path.is_file():
        raise DatasetError(f"{filename!r} is not in gensim's test data ({path.parent}); check the file name "
                           f"or reinstall gensim from its wheel, which ships that folder")
    return path


def load_word_pairs(dataset: str) -> pd.DataFrame:
    """Human similarity judgements: columns word1, word2, score."""
    if dataset not in WORD_PAIR_FILES:
        raise ValueError(f"unknown word-similarity dataset {dataset!r}; known: {', '.join(WORD_PAIR_FILES)}")
    rows = []
    for line in gensim_test_data(WORD_PAIR_FILES[dataset]).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        w1, w2, score = line.split("\t")[:3]
        rows.append((w1, w2, float(score)))
    return pd.DataFrame(rows, columns=["word1", "word2", "score"])


def pair_words(datasets: list[str]) -> list[str]:
    """Every word of the named word-similarity sets, sorted."""
    words = set()
    for d in datasets:
        pairs = load_word_pairs(d)
        words |= set(pairs.word1) | set(pairs.word2)
    return sorted(words)


def load_analogies() -> pd.DataFrame:
    """The analogy questions (Mikolov et al. 2013): columns section, a, b, c, d (19,544 rows, 14 sections)."""
    rows, section = [], None
    for line in gensim_test_data("questions-words.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
        elif line.strip():
            a, b, c, d = line.split()
            rows.append((section, a, b, c, d))
    return pd.DataFrame(rows, columns=["section", *ANALOGY_COLUMNS])


def load_polarity() -> pd.DataFrame:
    """200 movie-review sentences (Pang & Lee): columns text, label (0 negative, 1 positive).

    The file is Windows-1252 (é as E9, an em dash as 97), not UTF-8; it is decoded as such."""
    rows = []
    for line in gensim_test_data("pang_lee_polarity.cor").read_text(encoding="cp1252").splitlines():
        if line.strip():
            tag, _, text = line.partition(" ")
            rows.append((text.strip(), {"__label__neg": 0, "__label__pos": 1}[tag]))
    return pd.DataFrame(rows, columns=["text", "label"])
