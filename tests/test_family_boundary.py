"""What a family is stays inside ``src/byteword/models/``: no module of the package outside it, no workflow
script and no rule file names a family in a string literal (docstrings and bare string statements, the
schema and the configs are exempt). Code that needs to know something about a family asks the model
protocol (``byteword.models.protocol``) or the family's typed config instead."""

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from byteword.models import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
NAMES = re.compile(r"\b(" + "|".join(FAMILIES) + r")\b")


def python_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant of a Python module, bare string statements (docstrings) left out."""
    tree = ast.parse(source)
    bare = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in bare]


def snakemake_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string token of a Snakemake file (Python's tokenizer reads its syntax), the
    triple-quoted strings that are a whole logical line (docstrings) left out; a shell command or a path
    alone on its line is scanned."""
    out, line_start = [], True
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        docstring = line_start and tok.string.startswith(('"""', "'''")) and tok.line.strip() == tok.string.strip()
        if tok.type == tokenize.STRING and not docstring:
            out.append((tok.start[0], tok.string))
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
            line_start = tok.type == tokenize.NEWLINE
    return out


def scanned_files() -> list[Path]:
    package = [p for p in (ROOT / "src/byteword").rglob("*.py") if "models" not in p.relative_to(ROOT / "src").parts]
    return sorted(package + list((ROOT / "workflow/scripts").glob("*.py")) + list((ROOT / "rules").glob("*.smk"))
                  + [ROOT / "Snakefile"])


def family_names(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    strings = snakemake_strings(source) if path.suffix == ".smk" or path.name == "Snakefile" else python_strings(source)
    return [f"{path.relative_to(ROOT)}:{line}: {text!r}" for line, text in strings if NAMES.search(text)]


def test_the_scan_finds_a_family_name_in_code_but_not_in_a_docstring():
    source = f'"""The {next(iter(FAMILIES))} docstring."""\nx = f"is {{y}} a {list(FAMILIES)[-1]}"\n'
    assert [line for line, _ in python_strings(source) if NAMES.search(_)] == [2]
    rule = (f'rule a:\n    """{next(iter(FAMILIES))}"""\n    params:\n        x="{list(FAMILIES)[-1]}",\n'
            f'    shell:\n        "train --family {list(FAMILIES)[-1]}"\n')
    assert [line for line, _ in snakemake_strings(rule) if NAMES.search(_)] == [4, 6]


@pytest.mark.parametrize("path", scanned_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_family_name_outside_the_models_package(path):
    assert family_names(path) == []
