"""The npm packages of the Node interop test, installed once under .build/node-interop.

`npm ci` from the committed lock file, reused while package.json, the lock file
and the node version stay the same. Without node/npm, or when npm cannot
install outside CI, the test skips and says why; in CI (CI=true) a failed
install fails it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
BUILD_DIR = REPO_ROOT / ".build" / "node-interop"
NPM_SECONDS = 300


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --------------------------------------------------------------------------
# npm packages (cached under .build/node-interop)
# --------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"the Node interop test needs `{name}` on PATH (Node.js 18+ with npm)")
    return found


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One npm install at a time into BUILD_DIR (parallel test sessions share it)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _install_failed(message: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{message} (CI=true: the npm registry must be reachable in CI)")
    pytest.skip(f"{message}; outside CI the Node interop test skips")


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """node_modules of tests/reliability/node/package-lock.json, installed once and reused.

    Session-scoped so that it is set up before the session's models load: a machine
    without Node skips at once.
    """
    node, npm = _tool("node"), _tool("npm")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    manifest = [(NODE_DIR / n).read_bytes() for n in ("package.json", "package-lock.json")]
    stamp = hashlib.sha256(b"\0".join([*manifest, version.encode()])).hexdigest()
    stamp_file = BUILD_DIR / ".installed"
    modules = BUILD_DIR / "node_modules"
    with _locked(BUILD_DIR.parent / "node-interop.lock"):
        if stamp_file.is_file() and stamp_file.read_text() == stamp and modules.is_dir():
            return modules
        stamp_file.unlink(missing_ok=True)
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(NODE_DIR / name, BUILD_DIR / name)
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        # Outside CI an unreachable registry skips at once instead of after npm's retries.
        command += ["--fetch-timeout=60000"] + ([] if in_ci() else ["--fetch-retries=0"])
        try:
            done = subprocess.run(
                command, cwd=BUILD_DIR, capture_output=True, text=True, timeout=NPM_SECONDS
            )
        except subprocess.TimeoutExpired:
            _install_failed(f"`npm ci` in {BUILD_DIR} took longer than {NPM_SECONDS} s")
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-2000:]
            _install_failed(f"`npm ci` in {BUILD_DIR} failed (exit {done.returncode}): {tail}")
        stamp_file.write_text(stamp)
    return modules
