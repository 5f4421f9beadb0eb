"""The package as a user installs it: a real virtualenv with only the base dependencies.

`pip install textlens` (no extras) brings grpcio, protobuf and numpy. On that install
`textlens --help` and the client commands must work, and every installed module must
sit where the path rule puts it (tests/test_layout.py checks the same rule on the tree).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from tests.import_graph import REPO, ROOMS, modules

#: Listing the modules of the installed package, from inside the base venv.
WALK = """
import importlib.util, json, pkgutil, sys
import textlens
seen = {}
for info in pkgutil.walk_packages(textlens.__path__, prefix="textlens."):
    try:
        spec = importlib.util.find_spec(info.name)
    except ImportError as exc:  # a package whose __init__ needs an extra
        seen[info.name] = "import error: " + str(exc)
        continue
    seen[info.name] = spec.origin
print(json.dumps(seen))
"""


#: What a source distribution holds: the rooms, and the files setuptools reads.
SOURCE = ["pyproject.toml", "README.md", *ROOMS]


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("base-venv")
    # Built from a copy, so pip's build directory never lands in the checkout.
    source = tmp_path_factory.mktemp("source")
    for name in SOURCE:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        copy(REPO / name, source / name)
    venv.create(where, with_pip=True)
    python = where / "bin" / "python"
    done = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return where


def _run(venv_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=120, cwd=venv_dir,
        env={"PATH": f"{venv_dir / 'bin'}:/usr/bin:/bin", "HOME": str(venv_dir)},
    )  # fmt: skip


def test_only_the_base_dependencies_are_installed(base_venv: Path) -> None:
    done = _run(base_venv, str(base_venv / "bin" / "python"), "-m", "pip", "list", "--format=json")
    names = {p["name"].lower() for p in json.loads(done.stdout)}
    assert {"textlens", "grpcio", "protobuf", "numpy"} <= names
    assert not names & {"torch", "duckdb", "pyarrow", "pydantic", "transformers", "sqlalchemy"}


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["models", "--help"], ["reload", "--help"], ["sql", "--help"]],
    ids=lambda argv: " ".join(argv),
)
def test_textlens_help_works_on_the_base_install(base_venv: Path, argv: list[str]) -> None:
    done = _run(base_venv, str(base_venv / "bin" / "textlens"), *argv)
    assert done.returncode == 0, done.stderr
    assert "usage: textlens" in done.stdout


def test_installed_modules_follow_the_path_rule(base_venv: Path) -> None:
    done = _run(base_venv, str(base_venv / "bin" / "python"), "-c", WALK)
    assert done.returncode == 0, done.stderr
    installed: dict[str, str] = json.loads(done.stdout)
    site = Path(
        _run(
            base_venv, str(base_venv / "bin" / "python"), "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ).stdout.strip()
    )  # fmt: skip
    wrong = {}
    for name, origin in installed.items():
        if origin.startswith("import error"):
            continue
        expected = site.joinpath(*name.split("."))
        candidates = {expected.with_suffix(".py"), expected / "__init__.py"}
        if Path(origin) not in candidates:
            wrong[name] = origin
    assert not wrong, f"installed modules off the path rule: {wrong}"
    walked = set(modules())
    found = {n for n, o in installed.items() if not o.startswith("import error")}
    # Subpackages behind an extra are not walked into; every module found is in the tree.
    assert found <= walked and len(found) > 100, (sorted(found - walked), len(found))
