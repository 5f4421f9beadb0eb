"""The textlens import graph, read from the source with `ast` (nothing is imported).

tests/test_layers.py checks it against the layers of docs/architecture.md; run this
module to print every edge that crosses a unit (`python tests/import_graph.py`).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOMS: list[str] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "setuptools"
]["packages"]["find"]["where"]


@dataclass(frozen=True)
class Edge:
    """One `import` of a textlens module by another, where it is written."""

    source: str  # importing module
    target: str  # imported module (or the package, for `from pkg import name`)
    path: str  # repository path of the importing file
    line: int
    kind: str  # "top", "local" (inside a function) or "typing" (under TYPE_CHECKING)


def modules() -> dict[str, Path]:
    """Every textlens module of the rooms: import name -> file."""
    found: dict[str, Path] = {}
    for room in ROOMS:
        for path in sorted((REPO / room / "textlens").rglob("*.py")):
            parts = list(path.relative_to(REPO / room).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, kind: str) -> Iterator[tuple[ast.AST, str]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, "local")
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield stmt, "typing"
                yield from _walk(stmt, "typing")
            for stmt in child.orelse:
                yield stmt, kind
                yield from _walk(stmt, kind)
        else:
            yield child, kind
            yield from _walk(child, kind)


def edges_of(name: str, path: Path, known: dict[str, Path]) -> list[Edge]:
    """The textlens imports in one module, resolved to module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    rel = str(path.relative_to(REPO))
    found: list[Edge] = []
    for node, kind in _walk(tree, "top"):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod.
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
            targets = subs or [module]
        for target in targets:
            if target == "textlens" or target.startswith("textlens."):
                found.append(Edge(name, target, rel, getattr(node, "lineno", 0), kind))
    return found


def all_edges() -> list[Edge]:
    known = modules()
    return [edge for name, path in known.items() for edge in edges_of(name, path, known)]


if __name__ == "__main__":
    for edge in all_edges():
        print(f"{edge.kind:6} {edge.source} -> {edge.target}  ({edge.path}:{edge.line})")
