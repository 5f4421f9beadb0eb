"""Build the tree mypy type-checks: the installed `textlens` layout, as symlinks.

`pyproject.toml` maps packages onto directories whose names differ from the
module names (`textlens.server` lives in `server/`, `textlens.client` in
`connectors/client/`, `textlens` itself in `proto/textlens/`), and the editable
install resolves them with an import hook that mypy cannot follow. So mypy can
find neither the modules by path nor the installed package.

This script reads `[tool.setuptools] packages` and `package-dir` from
pyproject.toml (the same data setuptools builds the wheel from) and writes
`.build/typecheck/textlens/`: one real directory per installed package, holding
a relative symlink to each of that package's module files (`*.py`, `*.pyi`,
`py.typed`) in the source tree. The result has exactly the wheel's layout, so

    python scripts/typecheck_tree.py
    mypy .build/typecheck/textlens

checks the real source files under their real module names (`make lint` runs
both). Files are linked one by one rather than whole directories so that a
directory shared by two packages is split as the wheel splits it
(`connectors/` holds `textlens.connectors` *and*, in `client/`, the separate
package `textlens.client`), and so that a sub-package missing from `packages`
is missing here too: mypy then reports the import that would fail after
`pip install`. Such directories are also named in a warning.

mypy reports paths inside the tree (`.build/typecheck/textlens/server/...`);
`textlens/X` there is the file the `textlens.X` module comes from. Pass
`--mypy` to build the tree, run mypy on it and print the real source paths
instead (`server/...`); extra arguments after `--` go to mypy.

The tree is rebuilt from scratch on every run (it is only links, so it is
cheap) and lives under `.build/`, which git ignores.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / ".build" / "typecheck"
MODULE_SUFFIXES = (".py", ".pyi")
MARKER_FILES = ("py.typed",)


def read_layout(pyproject: Path) -> dict[str, Path]:
    """Installed package name -> its source directory, as setuptools resolves it."""
    data: dict[str, Any] = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    setuptools_cfg = data.get("tool", {}).get("setuptools", {})
    packages: list[str] = list(setuptools_cfg.get("packages", []))
    package_dir: dict[str, str] = dict(setuptools_cfg.get("package-dir", {}))
    if not packages:
        raise SystemExit(f"{pyproject}: [tool.setuptools] packages is empty or missing")
    root = pyproject.parent
    return {name: root / source_dir(name, package_dir) for name in packages}


def source_dir(package: str, package_dir: dict[str, str]) -> Path:
    """setuptools' rule: the longest mapped prefix, then the rest of the dotted name."""
    parts = package.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in package_dir:
            return Path(package_dir[prefix], *parts[i:])
    return Path(package_dir.get("", "."), *parts)


def is_module_file(path: Path) -> bool:
    return path.is_file() and (path.suffix in MODULE_SUFFIXES or path.name in MARKER_FILES)


def build(out: Path, pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """(Re)create the symlink tree under `out`; return warnings about the layout."""
    layout = read_layout(pyproject)
    warnings: list[str] = []
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    mapped_dirs = {src.resolve() for src in layout.values()}
    for package, src in sorted(layout.items()):
        if not (src / "__init__.py").is_file():
            raise SystemExit(f"package {package} maps to {src}, which has no __init__.py")
        target = out.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for entry in sorted(src.iterdir()):
            if is_module_file(entry):
                link = target / entry.name
                link.symlink_to(os.path.relpath(entry, target))
            elif (
                entry.is_dir()
                and (entry / "__init__.py").is_file()
                and entry.resolve() not in mapped_dirs
            ):
                warnings.append(
                    f"{entry.relative_to(ROOT)} looks like a sub-package of {package} but is "
                    "not in [tool.setuptools] packages: it would not be installed"
                )
    return warnings


def run_mypy(out: Path, extra: list[str]) -> int:
    """Run mypy on the tree and print its report with real source paths."""
    tree = out / "textlens"
    shown = os.path.relpath(tree, ROOT)
    cmd = [sys.executable, "-m", "mypy", shown, *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    prefix = re.compile(r"^" + re.escape(shown) + r"/(\S+?\.pyi?)")

    def real(match: re.Match[str]) -> str:
        link = tree / match.group(1)
        try:
            return os.path.relpath(link.resolve(), ROOT)
        except OSError:
            return match.group(0)

    for stream, text in ((sys.stdout, proc.stdout), (sys.stderr, proc.stderr)):
        for line in text.splitlines():
            print(prefix.sub(real, line), file=stream)
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument("--mypy", action="store_true", help="also run mypy on the tree")
    parser.add_argument("mypy_args", nargs="*", help="extra mypy arguments (after --)")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    for warning in build(out):
        print(f"warning: {warning}", file=sys.stderr)
    if args.mypy:
        return run_mypy(out, args.mypy_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
