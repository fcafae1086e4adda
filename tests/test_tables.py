"""Markdown tables rendered from results: formats, verdicts that follow the intervals, and pasting."""

from pathlib import Path

import pandas as pd
import pytest

from byteword import tables


def test_an_interval_reads_value_then_its_ends():
    assert tables.with_interval(4.9125, 4.8, 5.04133) == "4.912 (4.800–5.041)"
    assert tables.with_interval(-0.5, -0.61, 0.02) == "-0.500 (-0.610 to 0.020)"
    assert tables.with_interval(1.0, float("nan"), float("nan")) == "1.000"
    assert tables.number(-0.00004) == "0.000" and tables.significant(1_480_000.0) == "1.48e+06"


def test_a_pair_is_ordered_only_where_its_interval_excludes_zero():
    pairs = pd.DataFrame({"model_a": ["a", "b", "a", "c", "b", "c"], "model_b": ["b", "a", "c", "a", "c", "b"],
                          "value": [-0.2, 0.2, 0.01, -0.01, 0.3, -0.3],
                          "ci_low": [-0.3, 0.1, -0.02, -0.04, 0.1, -0.5], "ci_high": [-0.1, 0.3, 0.04, 0.02, 0.5, -0.1]})
    t = tables.paired(pairs)
    assert list(t["a − b"]) == ["a − b", "a − c", "b − c"]  # each unordered pair once, in the table's order
    assert list(t["verdict"]) == ["a lower", "cannot be told apart", "c lower"]


def test_paired_differences_per_condition_keep_each_pair_once():
    pairs = pd.DataFrame({"model_a": ["a", "b"] * 2, "model_b": ["b", "a"] * 2, "perturbation": ["x", "x", "y", "y"],
                          "metric": "bpb_shift", "value": [0.5, -0.5, -0.1, 0.1], "ci_low": [0.25, -0.75, -0.3, 0.0],
                          "ci_high": [0.75, -0.25, 0.0, 0.3]})
    t = tables.paired_by_condition(pd.concat([pairs, pairs.assign(metric="bpb")]), "perturbation", "bpb_shift")
    assert t.to_dict("records") == [{"a − b": "a − b", "x": "0.500 (0.250–0.750)", "y": "-0.100 (-0.300 to 0.000)"}]


def test_conditions_become_columns_of_each_models_seed_aware_number():
    summary = pd.DataFrame({"model": ["m", "m", "m", "m"], "seed": ["0", "1", "0", "1"],
                            "language": ["en", "en", "bg", "bg"], "metric": "bpb", "value": [1.0, 1.2, 2.0, 2.2],
                            "ci_low": 0.0, "ci_high": 9.0, "model_value": [1.1, 1.1, 2.1, 2.1],
                            "model_ci_low": [1.0, 1.0, 2.0, 2.0], "model_ci_high": [1.2, 1.2, 2.2, 2.2]})
    t = tables.by_condition(summary, "language")
    assert t.to_dict("records") == [{"model": "m", "en": "1.100 (1.000–1.200)", "bg": "2.100 (2.000–2.200)"}]
    assert tables.markdown(t) == "| model | en | bg |\n|---|---|---|\n| m | 1.100 (1.000–1.200) | 2.100 (2.000–2.200) |\n"


def test_paste_replaces_each_block_with_its_rendered_file(tmp_path):
    (tmp_path / "enwiki").mkdir()
    (tmp_path / "enwiki" / "test_bpb.md").write_text("| a |\n|---|\n| 1 |\n")
    page = "intro\n<!-- table: demo/test_bpb -->\nstale\nrows\n<!-- end table -->\nafter\n"
    pasted = tables.paste(page, {"demo": tmp_path}, {"demo": "enwiki"})
    assert pasted == "intro\n<!-- table: demo/test_bpb -->\n| a |\n|---|\n| 1 |\n<!-- end table -->\nafter\n"
    assert tables.paste(pasted, {"demo": tmp_path}, {"demo": "enwiki"}) == pasted  # pasting again changes nothing
    with pytest.raises(ValueError, match="'other'"):
        tables.paste(page.replace("demo/", "other/"), {"demo": tmp_path}, {"demo": "enwiki"})
    with pytest.raises(FileNotFoundError, match="noise.md"):
        tables.paste(page.replace("test_bpb", "noise"), {"demo": tmp_path}, {"demo": "enwiki"})


def test_a_block_keeps_the_rows_whose_first_cell_names_a_matching_word(tmp_path):
    (tmp_path / "enwiki").mkdir()
    rows = ["blt − hnet", "blt_no_hash − hnet", "bytes − spacebyte", "hat − bytes_window", "bytes − blt"]
    (tmp_path / "enwiki" / "paired_bpb.md").write_text("| a − b | d |\n|---|---|\n"
                                                      + "".join(f"| {r} | 0.1 |\n" for r in rows))
    page = "<!-- table: x/paired_bpb rows=blt|bytes -->\n<!-- end table -->\n"
    pasted = tables.paste(page, {"x": tmp_path}, {"x": "enwiki"})
    kept = [line.split("|")[1].strip() for line in pasted.splitlines()[3:-1]]
    assert kept == ["blt − hnet", "bytes − spacebyte", "bytes − blt"]  # not blt_no_hash, nor bytes_window alone
    assert pasted.splitlines()[1:3] == ["| a − b | d |", "|---|---|"]
    assert tables.paste(pasted, {"x": tmp_path}, {"x": "enwiki"}) == pasted


def test_every_table_block_of_the_docs_names_a_rendered_table():
    root = Path(__file__).resolve().parents[1]
    names = [m["name"] for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]
             for m in tables.BLOCK.finditer(page.read_text(encoding="utf-8"))]
    assert "demo/test_bpb" in names
    assert {name.partition("/")[2] for name in names} <= set(tables.TABLES)
