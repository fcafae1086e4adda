"""Seeded character-level perturbations of text, for robustness evaluation.

The five of the BLT and H-Net papers (all caps; dropping 10% of characters; random case at 50%;
repeating 20% of characters up to 4 times; "ant speak": upper case with every character separated
by a space) and per-word character noise (swap two neighbouring characters, substitute one, or
delete one, in a given fraction of the words). Every function is deterministic given its seed, and a
rate of 0 returns the text unchanged, so rate 0 reproduces the clean scores exactly."""

from __future__ import annotations

import random
import re
import string

WORD = re.compile(r"\w+")
SUBSTITUTES = string.ascii_lowercase


def all_caps(text: str, seed: int = 0) -> str:
    return text.upper()


def drop_characters(text: str, rate: float = 0.1, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(c for c in text if rng.random() >= rate)


def random_case(text: str, rate: float = 0.5, seed: int = 0) -> str:
    """Each letter upper-cased with probability ``rate``, lower-cased otherwise (rate 0: unchanged)."""
    if rate == 0:
        return text
    rng = random.Random(seed)
    return "".join(c.upper() if rng.random() < rate else c.lower() for c in text)


def repeat_characters(text: str, rate: float = 0.2, max_copies: int = 4, seed: int = 0) -> str:
    """Each character, with probability ``rate``, written 2 to ``max_copies`` times."""
    rng = random.Random(seed)
    return "".join(c * rng.randint(2, max_copies) if rng.random() < rate else c for c in text)


def ant_speak(text: str, seed: int = 0) -> str:
    """Upper case, every character separated by a space ("ab c" -> "A B   C")."""
    return " ".join(text.upper())


def perturb_word(word: str, rng: random.Random) -> str:
    """One edit that always changes the word: swap two different neighbours, substitute or delete."""
    swaps = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
    op = rng.choice(("swap", "substitute", "delete")) if len(word) > 1 else "substitute"
    if op == "swap" and swaps:
        i = rng.choice(swaps)
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    i = rng.randrange(len(word))
    if op == "delete":
        return word[:i] + word[i + 1:]
    return word[:i] + rng.choice([c for c in SUBSTITUTES if c != word[i].lower()]) + word[i + 1:]


def word_noise(text: str, rate: float, seed: int = 0) -> str:
    """A fraction ``rate`` of the words (runs of \\w) each get one swap, substitution or deletion."""
    rng = random.Random(seed)
    return WORD.sub(lambda m: perturb_word(m.group(), rng) if rng.random() < rate else m.group(), text)


# name -> (function, rate) for the evaluation grid; rate None means the perturbation has no rate
PERTURBATIONS = {
    "all_caps": (all_caps, None),
    "drop_10": (drop_characters, 0.1),
    "random_case_50": (random_case, 0.5),
    "repeat_20": (repeat_characters, 0.2),
    "ant_speak": (ant_speak, None),
    **{f"word_noise_{round(r * 100)}": (word_noise, r) for r in (0.05, 0.1, 0.2)},
}


def perturb(text: str, name: str, seed: int = 0) -> str:
    """Apply the perturbation ``name`` of ``PERTURBATIONS`` with its rate."""
    if name not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {name!r}; choose one of {', '.join(PERTURBATIONS)}")
    fn, rate = PERTURBATIONS[name]
    return fn(text, seed=seed) if rate is None else fn(text, rate, seed=seed)


def noise_documents(texts, total_bytes: int, doc_bytes: int = 2048) -> list[str]:
    """The clean text perturbed: the first ``doc_bytes`` (cut at a character) of test documents in order,
    until ``total_bytes`` are taken; many short documents rather than a few long ones, because the
    interval resamples documents."""
    out, total = [], 0
    for text in texts:
        if total >= total_bytes:
            break
        data = text.encode("utf-8")[: min(doc_bytes, total_bytes - total)]
        piece = data.decode("utf-8", errors="ignore")  # drops a character the cut split
        if piece:
            out.append(piece)
            total += len(piece.encode("utf-8"))
    return out


def perturbed_documents(docs: list[str], names: list[str], seed: int = 0) -> dict[str, list[str]]:
    """{"clean": docs, name: docs perturbed, ...}: document i perturbed with its own seed, ``seed`` + i, so
    that every model and every baseline reads the same perturbed text."""
    return {"clean": docs, **{name: [perturb(d, name, seed=seed + i) for i, d in enumerate(docs)] for name in names}}


def noise_windows(docs: list[str], names: list[str], seed: int, context_bytes: int, stride_bytes: int,
                  tokenizer=None) -> dict:
    """{"clean" or perturbation: the evaluation windows of its ``perturbed_documents``}, the windows every
    model and every baseline scores."""
    from byteword.data import eval_windows

    return {name: eval_windows(texts, context_bytes, stride_bytes, tokenizer=tokenizer)
            for name, texts in perturbed_documents(docs, names, seed).items()}


def score_noise(model, docs: list[str], names: list[str], context_bytes: int, stride_bytes: int, tokenizer=None,
                batch_size: int = 16, n_resamples: int = 1000, seed: int = 0):
    """One row per perturbation (and "clean"): each document perturbed (``perturbed_documents``) and cut
    into the evaluation windows, metric "bpb" on the perturbed bytes in ``value`` with an interval over
    documents; and the per-window rows (perturbation, window, doc, nll_nats, n_bytes) that the summary
    resamples (it measures each perturbation's loss against the clean text, with intervals)."""
    import pandas as pd

    from byteword.evaluation.bootstrap import ratio_ci
    from byteword.evaluation.bpb import score_windows

    rows, windows = [], []
    for name, cut in noise_windows(docs, names, seed, context_bytes, stride_bytes, tokenizer).items():
        scores = score_windows(model, cut, tokenizer, batch_size=batch_size)
        low, high = ratio_ci(scores.nll, scores.n_bytes, scores.doc, n_resamples=n_resamples)
        rate = 0.0 if name == "clean" else PERTURBATIONS[name][1]
        rows.append({"perturbation": name, "rate": rate, "metric": "bpb", "value": scores.bpb, "ci_low": low,
                     "ci_high": high,
                     "n_bytes": int(scores.n_bytes.sum()), "n_windows": len(cut), "n_docs": len(docs)})
        windows.append(scores.rows(perturbation=name))
    return pd.DataFrame(rows), pd.concat(windows, ignore_index=True)
