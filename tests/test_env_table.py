"""docs/configuration.md lists every TEXTLENS_* variable the package reads, generated from
the code by scripts/env_table.py; this fails when the table is stale."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import REPO_ROOT


def test_the_variable_table_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "env_table.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_every_variable_the_package_names_is_in_the_table() -> None:
    """The generator's own net, checked by a plain text search of the rooms."""
    table = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    named = set()
    for room in ("proto", "server", "connectors", "superset_plugin"):
        for path in (REPO_ROOT / room / "textlens").rglob("*.py"):
            named |= set(re.findall(r"\"(TEXTLENS_[A-Z0-9_]+)\"", path.read_text("utf-8")))
    missing = sorted(name for name in named if f"`{name}`" not in table)
    assert not missing, f"variables missing from docs/configuration.md: {missing}"
