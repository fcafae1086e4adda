"""The package's parts import each other in one direction: no cycle between its modules and subpackages
(``byteword.evaluation``, ``byteword.models`` and ``byteword.plotting`` each count as one part), whether
an import sits at the top of a module or inside a function."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def part(module: str) -> str:
    """byteword.evaluation.bpb -> byteword.evaluation; byteword.train -> byteword.train."""
    return ".".join(module.split(".")[:2])


def imported_modules(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            # ``from byteword import checkpoint`` imports byteword.checkpoint, not the package's own file
            out |= {f"byteword.{a.name}" for a in node.names} if node.module == "byteword" else {node.module}
    return {m for m in out if m.startswith("byteword.")}


def part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in (SRC / "byteword").rglob("*.py"):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts)
        if module == "byteword.__init__":
            continue
        mine = part(module)
        graph.setdefault(mine, set()).update(part(m) for m in imported_modules(path) if part(m) != mine)
    return graph


def test_the_graph_sees_a_known_import():
    assert "byteword.models" in part_graph()["byteword.train"]


def test_no_import_cycle_between_the_parts_of_the_package():
    try:
        order = list(TopologicalSorter(part_graph()).static_order())
    except CycleError as err:
        raise AssertionError(f"import cycle: {' -> '.join(err.args[1])}") from None
    assert set(order) == set(part_graph()) | {d for deps in part_graph().values() for d in deps}  # every part placed
    assert "byteword.evaluation" in part_graph()["byteword.embeddings"]  # the one direction left
