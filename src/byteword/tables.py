"""Markdown tables of the results, rendered from their Parquet, so that no number in the docs is typed by
hand: the ``render_table`` rule writes ``results/tables/<corpus>/<table>.md``, and ``python -m
byteword.tables paste docs/*.md`` copies each into the blocks of a page that name it::

    <!-- table: demo/test_bpb -->
    (replaced by the file results/tables/<corpus>/test_bpb.md of the results folder named by ``demo``)
    <!-- end table -->

A block may keep only some rows, those whose first cell holds a whole word matching a regular
expression: ``<!-- table: cpu_full/paired_bpb rows=blt -->`` keeps the pairs with ``blt`` in them.

A value with an interval reads "4.912 (4.800–5.041)", or "-0.980 (-1.070 to -0.920)"; an ordering of
two rows is stated only where their paired interval excludes zero, else the pair "cannot be told apart". Numbers over seeds are each model's
seed-aware ones (``model_value`` and its interval) where the summary has them (``paired.seed_aware``)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from byteword.evaluation.paired import seed_aware

BLOCK = re.compile(r"(<!-- table: (?P<name>[\w./-]+)(?: rows=(?P<rows>\S+))? -->\n)(?P<body>.*?)(<!-- end table -->)",
                   re.S)


def number(x, digits: int = 3) -> str:
    """A measurement at fixed digits (three significant ones when very large); "–" when missing."""
    if pd.isna(x):
        return "–"
    x = float(x)
    return f"{x:.3g}" if abs(x) >= 1e5 else f"{round(x, digits) + 0.0:.{digits}f}"  # + 0.0: no "-0.000"


def count(x) -> str:
    return "–" if pd.isna(x) else f"{int(x):,}"


def significant(x) -> str:
    """Three significant digits (FLOPs)."""
    return "–" if pd.isna(x) else f"{float(x):.3g}"


def with_interval(value, low, high, digits: int = 3) -> str:
    """"v (lo–hi)" ("v (lo to hi)" when an end is negative), or "v" alone where the interval is missing (a
    single document, a whole-text row)."""
    if pd.isna(low) or pd.isna(high):
        return number(value, digits)
    dash = " to " if min(low, high) < 0 else "–"
    return f"{number(value, digits)} ({number(low, digits)}{dash}{number(high, digits)})"


def cells(rows: pd.DataFrame, value: str = "value", low: str = "ci_low", high: str = "ci_high") -> list[str]:
    """Each row's ``value`` with its interval (``with_interval``)."""
    return [with_interval(*v) for v in zip(rows[value], rows[low], rows[high])]


def markdown(table: pd.DataFrame) -> str:
    """A pipe table of ``table``'s cells as strings."""
    cells = table.map(lambda x: "–" if pd.isna(x) else str(x))
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "|".join("---" for _ in table) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def seeds_label(rows: pd.DataFrame) -> pd.Series:
    n = rows["n_seeds"] if "n_seeds" in rows else pd.Series(1, index=rows.index)
    return n.fillna(1).astype(int).astype(str)


def test_bpb(summary: pd.DataFrame) -> pd.DataFrame:
    """Every model, baseline and compressor on the same test bytes."""
    rows = seed_aware(summary, ["model"])
    return pd.DataFrame({
        "model": rows["model"],
        "kind": rows["kind"],
        "what": rows["variant"].where(rows["kind"] == "model", rows.get("label", rows["kind"])).fillna(""),
        "test BPB (95% CI)": cells(rows),
        "seeds": seeds_label(rows).where(rows["kind"] == "model", ""),
        "seed sd": rows["seed_sd"].map(number) if "seed_sd" in rows else "",
        "FLOPs/byte": rows["flops_per_byte"].map(significant),
        "non-embedding params": rows["params_non_embedding"].map(count),
        "bytes/chunk": rows["bytes_per_chunk"].map(lambda x: number(x, 2)),
    })


def ordering(low: float, high: float, if_positive: str, if_negative: str) -> str:
    """What an interval of a difference allows one to say: its sign where it excludes zero."""
    if low > 0:
        return if_positive
    if high < 0:
        return if_negative
    return "cannot be told apart"


def verdict(a: str, b: str, low: float, high: float) -> str:
    """Of a − b: the lower of the two, where the interval allows."""
    return ordering(low, high, f"{b} lower", f"{a} lower")


def each_pair_once(pairs: pd.DataFrame) -> pd.DataFrame:
    """The rows of a paired table with a before b in the table's order (each unordered pair once)."""
    rank = {m: i for i, m in enumerate(dict.fromkeys(pairs["model_a"]))}
    return pairs[pairs["model_a"].map(rank) < pairs["model_b"].map(rank)]


def paired(pairs: pd.DataFrame) -> pd.DataFrame:
    """Each unordered pair once (a before b in the table's order): a − b with its paired interval and what
    it allows one to say."""
    one_way = each_pair_once(pairs)
    return pd.DataFrame({
        "a − b": one_way["model_a"] + " − " + one_way["model_b"],
        "difference (95% CI)": cells(one_way),
        "verdict": [verdict(a, b, lo, hi) for a, b, lo, hi in zip(one_way["model_a"], one_way["model_b"],
                                                                  one_way["ci_low"], one_way["ci_high"])],
    })


def wide_in_order(rows: pd.DataFrame, index: str, column: str, values: str) -> pd.DataFrame:
    """One row per ``index`` and one column per ``column`` value, both in the order they first appear."""
    wide = rows.pivot(index=index, columns=column, values=values)
    wide = wide.reindex(index=list(dict.fromkeys(rows[index])), columns=list(dict.fromkeys(rows[column])))
    return wide.reset_index().rename_axis(columns=None)


def by_condition(summary: pd.DataFrame, column: str, metric: str = "bpb") -> pd.DataFrame:
    """Rows: models and baselines; columns: the conditions (perturbations, languages, buckets); cells:
    ``metric`` with its interval."""
    rows = seed_aware(summary[summary["metric"] == metric], ["model", column])
    rows = rows.assign(cell=cells(rows))
    return wide_in_order(rows, "model", column, "cell")


def paired_by_condition(pairs: pd.DataFrame, column: str, metric: str) -> pd.DataFrame:
    """Rows: each unordered pair once, "a − b"; columns: the conditions; cells: the paired difference of
    ``metric`` with its interval (an ordering only where it excludes zero)."""
    rows = each_pair_once(pairs[pairs["metric"] == metric])
    rows = rows.assign(pair=rows["model_a"] + " − " + rows["model_b"], cell=cells(rows))
    return wide_in_order(rows, "pair", column, "cell").rename(columns={"pair": "a − b"})


def by_reading(table: pd.DataFrame, columns: list[str], rows: tuple[str, ...] = ("model", "reading")) -> pd.DataFrame:
    """Embedding tables: one row per ``rows`` (model, reading); columns the combinations of ``columns``;
    cells value (CI)."""
    t = table.assign(cell=cells(table), column=table[columns].astype(str).agg(", ".join, axis=1))
    wide = t.pivot_table(index=list(rows), columns="column", values="cell", aggfunc="first", sort=False)
    return wide[list(dict.fromkeys(t["column"]))].reset_index().rename_axis(columns=None)


def bytes_per_chunk(summary: pd.DataFrame, column: str = "language") -> pd.DataFrame:
    """Rows: the models that draw chunks (tokens, words, patches, learned chunks); columns the conditions;
    cells the bytes per chunk of each model's first run (units fixed by the text are the same for every
    seed; learned chunks differ from seed to seed)."""
    rows = summary[summary["bytes_per_chunk"].notna()].drop_duplicates(["model", column])
    return wide_in_order(rows.assign(cell=rows["bytes_per_chunk"].map(lambda x: number(x, 2))), "model", column,
                         "cell")


def scaling_points(points: pd.DataFrame) -> pd.DataFrame:
    """Rows: models, then the baselines on the same test bytes; columns: the budgets (training FLOPs); cells:
    test BPB with its interval over test documents (and seeds). A baseline trains at no budget: its row holds
    its label and its value in the last column."""
    budget = points["budget"].map(lambda b: "baseline" if pd.isna(b) else f"{b:.3g} FLOPs")
    rows = points.assign(cell=cells(points, "bpb", "bpb_low", "bpb_high"), budget=budget)
    wide = wide_in_order(rows, "model", "budget", "cell").fillna("")
    labels = rows.drop_duplicates("model").set_index("model")["label"] if "label" in rows else {}
    wide.insert(1, "what", wide["model"].map(lambda m: labels.get(m, "") or ""))
    return wide


def scaling_paired(points: pd.DataFrame) -> pd.DataFrame:
    """Rows: the models other than the reference; columns: the budgets; cells: BPB minus the reference's at the
    same budget, with its paired interval (the same resampled documents and seeds), and the lower of the two
    where the interval allows."""
    ref = points.loc[points["d_ref"].eq(0) & points["budget"].notna(), "model"].iloc[0]
    rows = points[points["budget"].notna() & (points["model"] != ref)]
    rows = rows.assign(budget=rows["budget"].map(lambda b: f"{b:.3g} FLOPs"), cell=[
        f"{with_interval(d, lo, hi)}: {ordering(lo, hi, f'{ref} lower', f'{m} lower')}"
        for m, d, lo, hi in zip(rows["model"], rows["d_ref"], rows["d_ref_low"], rows["d_ref_high"])])
    return wide_in_order(rows, "model", "budget", "cell").rename(columns={"model": f"model − {ref}"})


def crossing_cell(row) -> str:
    """Where a curve meets the reference's: its compute with the interval, or why it is not stated."""
    if pd.isna(row.get("crossing_located")):
        return ""
    if not row["crossing_located"]:
        return "cannot be located"
    return f"{row['crossing']:.2g} ({row['crossing_low']:.2g}–{row['crossing_high']:.2g})"


def e_cell(row) -> str:
    """The shared irreducible term, or, where the fit put it at its bound 0, that it is not located."""
    if row.get("E_at_bound", False):
        return f"not located: at its bound 0 in {row['E_at_bound_share']:.0%} of resamples"
    return with_interval(row["E"], row["E_low"], row["E_high"])


def scaling_fit(fits: pd.DataFrame) -> pd.DataFrame:
    """One row per model: the fitted exponent, its difference from the reference's with what that allows one
    to say, and where the curves cross (stated only where its interval lies between the smallest budget and
    ``extrapolate`` × the largest: ``byteword.scaling``)."""
    ref = fits["reference"].iloc[0]
    fits = fits.reindex(columns=list(dict.fromkeys([*fits, "d_alpha", "d_alpha_low", "d_alpha_high", "crossing",
                                                     "crossing_low", "crossing_high", "crossing_located"])))
    steeper = [("" if pd.isna(lo) else ordering(lo, hi, f"{m} steeper", f"{ref} steeper"))
               for m, lo, hi in zip(fits["model"], fits["d_alpha_low"], fits["d_alpha_high"])]
    return pd.DataFrame({
        "model": fits["model"],
        "A": fits["A"].map(number),
        "α (95% CI)": cells(fits, "alpha", "alpha_low", "alpha_high"),
        f"α − α({ref})": cells(fits, "d_alpha", "d_alpha_low", "d_alpha_high"),
        "slopes": steeper,
        f"crosses {ref} at (training FLOPs)": [crossing_cell(r) for _, r in fits.iterrows()],
        "E, shared (95% CI)": [e_cell(r) for _, r in fits.iterrows()],
    })


def scaling_lr_sweep(sweep: pd.DataFrame) -> pd.DataFrame:
    """Rows: models; columns: learning rates; cells: final validation BPB at the sweep's budget, "best" on
    the sweep's lowest and "study" on the rate the study trains at."""
    marks = lambda r: " ".join(m for m, on in (("best", r["best"]), ("study", r["study_lr"])) if on)  # noqa: E731
    rows = sweep.assign(column=sweep["lr"].map(lambda x: f"lr {x:.3g}"),
                        cell=[f"{number(r['valid_bpb'])} {marks(r)}".strip() for _, r in sweep.iterrows()])
    return wide_in_order(rows, "model", "column", "cell")


# table name -> (the Parquet it renders, and how)
TABLES = {
    "test_bpb": ("results/summary/{corpus}/test_bpb.parquet", test_bpb),
    "scaling_points": ("results/summary/{corpus}/scaling_points.parquet", scaling_points),
    "scaling_paired": ("results/summary/{corpus}/scaling_points.parquet", scaling_paired),
    "scaling_fit": ("results/summary/{corpus}/scaling_fit.parquet", scaling_fit),
    "scaling_lr_sweep": ("results/summary/{corpus}/scaling_lr_sweep.parquet", scaling_lr_sweep),
    "paired_bpb": ("results/summary/{corpus}/paired_bpb.parquet", paired),
    "noise": ("results/summary/{corpus}/noise.parquet", lambda t: by_condition(t, "perturbation")),
    "noise_ratio": ("results/summary/{corpus}/noise.parquet", lambda t: by_condition(t, "perturbation", "bpb_ratio")),
    "noise_shift": ("results/summary/{corpus}/noise.parquet", lambda t: by_condition(t, "perturbation", "bpb_shift")),
    "noise_shift_paired": ("results/summary/{corpus}/paired_noise.parquet",
                           lambda t: paired_by_condition(t, "perturbation", "bpb_shift")),
    "languages": ("results/summary/{corpus}/languages.parquet", lambda t: by_condition(t, "language")),
    "languages_chunks": ("results/summary/{corpus}/languages.parquet", bytes_per_chunk),
    "next_word": ("results/summary/{corpus}/next_word.parquet", lambda t: by_condition(t, "bucket", "next_word")),
    "next_word_bpb": ("results/summary/{corpus}/next_word.parquet", lambda t: by_condition(t, "bucket", "word_bpb")),
    "undertrained": ("results/summary/{corpus}/undertrained.parquet",
                     lambda t: by_reading(t.assign(threshold="seen ≤ " + t["threshold"].astype(str) + " times"),
                                          ["threshold"], rows=("model", "indicator"))),
    "word_similarity": ("results/embeddings/{corpus}/word_similarity.parquet", lambda t: by_reading(t, ["dataset", "level"])),
    "analogy": ("results/embeddings/{corpus}/analogy.parquet", lambda t: by_reading(t, ["group"])),
    "character_probe": ("results/embeddings/{corpus}/character_probe.parquet",
                        lambda t: by_reading(t[t["letter"] == "macro"].replace({"vectors": {"model": "own"}}),
                                             ["vectors"])),
    "typo_robustness": ("results/embeddings/{corpus}/typo_robustness.parquet", lambda t: by_reading(t, ["metric"])),
    "sentence_probe": ("results/embeddings/{corpus}/sentence_probe.parquet", lambda t: by_reading(t, ["features"])),
}


def render(name: str, table: pd.DataFrame) -> str:
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
    return markdown(TABLES[name][1](table))


def paste(page: str, folders: dict[str, Path], corpus_of: dict[str, str]) -> str:
    """``page`` with every table block replaced by its rendered file (or the rows it keeps): block
    "demo/test_bpb" reads ``folders["demo"] / corpus_of["demo"] / "test_bpb.md"``. A block naming an unknown
    folder or a missing file is an error naming both."""
    def replace(match: re.Match) -> str:
        folder, _, table = match["name"].partition("/")
        if folder not in folders:
            raise ValueError(f"table block {match['name']!r} names results {folder!r}; known: {', '.join(folders)}")
        path = Path(folders[folder]) / corpus_of[folder] / f"{table}.md"
        if not path.is_file():
            raise FileNotFoundError(f"table block {match['name']!r}: {path} does not exist; run the workflow first")
        return match[1] + kept_rows(path.read_text(encoding="utf-8"), match["rows"]) + match[5]

    return BLOCK.sub(replace, page)


def kept_rows(table: str, pattern: str | None) -> str:
    """A pipe table's header and the rows whose first cell holds a whole word matching ``pattern`` (every
    row when there is none)."""
    if pattern is None:
        return table
    lines = table.splitlines(keepends=True)
    word = re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])")
    return "".join(lines[:2] + [line for line in lines[2:] if word.search(line.split("|")[1])])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m byteword.tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["paste"])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--results", action="append", default=[], metavar="NAME=DIR:CORPUS",
                        help="a results tables folder and its corpus, e.g. demo=results/tables:enwiki")
    args = parser.parse_args(argv)
    folders, corpus_of = {}, {}
    for spec in args.results:
        name, _, rest = spec.partition("=")
        folders[name], _, corpus_of[name] = rest.rpartition(":")
    for page in args.pages:
        page.write_text(paste(page.read_text(encoding="utf-8"), folders, corpus_of), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
