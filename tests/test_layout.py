"""The path rule: a file's path says its import name, and back.

A *room* is a top-level folder of the repository that holds a `textlens/` folder;
below the room, the path is the import name (`server/textlens/server/runtime/batcher.py` is
`textlens.server.runtime.batcher`). `textlens` is a namespace package shared by the rooms.
pyproject.toml lists the rooms once, for setuptools, mypy, ruff and pytest; this
test keeps that list, the folders and the importable modules in step.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import tomllib
from pathlib import Path

import pytest

import textlens
from tests.import_graph import modules

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
ROOMS: list[str] = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["where"]


def _room_modules() -> list[tuple[str, Path]]:
    return list(modules().items())


def test_every_folder_with_a_textlens_package_is_a_listed_room() -> None:
    on_disk = sorted(p.parent.name for p in REPO.glob("*/textlens") if p.is_dir())
    assert on_disk == sorted(ROOMS)
    # The other places that name the rooms say the same.
    assert PYPROJECT["tool"]["mypy"]["mypy_path"] == ROOMS
    assert PYPROJECT["tool"]["pytest"]["ini_options"]["pythonpath"] == ROOMS
    assert set(ROOMS) <= set(PYPROJECT["tool"]["ruff"]["src"])
    # A room holds code only below its `textlens/` folder.
    stray = [
        str(p.relative_to(REPO))
        for room in ROOMS
        for p in (REPO / room).rglob("*.py")
        if p.relative_to(REPO / room).parts[0] != "textlens"
    ]
    assert not stray, f"modules outside a room's textlens/ folder: {stray}"


def test_textlens_is_a_namespace_and_each_first_level_name_has_one_room() -> None:
    owners: dict[str, list[str]] = {}
    for room in ROOMS:
        top = REPO / room / "textlens"
        assert not (top / "__init__.py").exists(), f"{room}/textlens/__init__.py"
        for child in top.iterdir():
            if child.name != "__pycache__" and (child.is_dir() or child.suffix == ".py"):
                owners.setdefault(child.stem, []).append(room)
    shared = {name: rooms for name, rooms in owners.items() if len(rooms) > 1}
    assert not shared, f"first-level names in more than one room: {shared}"


def test_every_folder_of_modules_is_a_regular_package() -> None:
    missing = []
    for room in ROOMS:
        for folder in (REPO / room / "textlens").rglob("*"):
            has_modules = folder.is_dir() and any(folder.glob("*.py"))
            if has_modules and not (folder / "__init__.py").exists():
                missing.append(str(folder.relative_to(REPO)))
    assert not missing, f"folders of modules without __init__.py: {missing}"


@pytest.mark.parametrize(
    ("name", "path"),
    [pytest.param(n, p, id=n) for n, p in _room_modules()],
)
def test_the_import_name_of_a_file_resolves_to_that_file(name: str, path: Path) -> None:
    spec = importlib.util.find_spec(name)
    assert spec is not None, f"{name} ({path.relative_to(REPO)}) is not importable"
    assert spec.origin is not None
    assert Path(spec.origin).resolve() == path.resolve()


def test_every_module_of_the_installed_package_follows_the_rule() -> None:
    """Walks `textlens` as Python sees it: each module lives where the rule says."""
    expected = dict(_room_modules())
    seen = {}
    for info in pkgutil.walk_packages(textlens.__path__, prefix="textlens."):
        spec = importlib.util.find_spec(info.name)
        assert spec is not None and spec.origin is not None, info.name
        seen[info.name] = Path(spec.origin).resolve()
    assert seen, "walk_packages found no textlens module"
    wrong = {n: p for n, p in seen.items() if expected.get(n, Path()).resolve() != p}
    assert not wrong, f"modules whose file is not where the rule puts them: {wrong}"
    assert set(seen) == set(expected) - {"textlens"}


#: A module is one job; past this many lines it is doing two (generated stubs aside).
MAX_MODULE_LINES = 400


def test_no_module_is_over_the_size_limit() -> None:
    long = {
        str(path.relative_to(REPO)): n
        for _, path in _room_modules()
        if "_pb2" not in path.name
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by job): {long}"


def test_tests_share_helpers_not_test_modules_or_conftests() -> None:
    """Shared code lives in helpers modules and fixtures; a test module or a conftest is
    never imported (pytest imports them itself, and each import is a second copy)."""
    import ast

    wrong = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                last = name.rsplit(".", 1)[-1]
                if name.startswith("tests") and (last.startswith("test_") or last == "conftest"):
                    wrong.append(f"{path.relative_to(REPO)}:{node.lineno} imports {name}")
            if (
                isinstance(node, ast.ImportFrom)
                and node.level
                and (node.module or "")
                in {
                    "conftest",
                    *(p.stem for p in path.parent.glob("test_*.py")),
                }
            ):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno} imports .{node.module}")
    assert not wrong, "\n".join(wrong)
