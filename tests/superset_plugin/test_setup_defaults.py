"""Issue 22 item 9: no admin/admin and no world-readable secrets outside the demo.

`textlens superset setup`/`bootstrap` defaulted to admin/admin, and
`superset_config.py` (SECRET_KEY: forges admin sessions, decrypts stored
connection passwords) and `superset.db` were created 0644. The first tests
need no Superset; the last checks the e2e suite's real home.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import pytest

from textlens.cli.main import build_parser, main
from textlens.cli.superset import PASSWORD_ENV, setup_password
from textlens.superset_tools.config import CONFIG_NAME, render, write_config


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_config_is_created_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_config(home)
    assert mode(path) == 0o600
    assert mode(home) == 0o700
    assert "SECRET_KEY = " in path.read_text()


def test_existing_configs_are_made_private(tmp_path: Path) -> None:
    """A home from an older textlens: the current config, and an outdated one (rewritten,
    the old one kept as .bak), both end 0600 with the secret kept."""
    current = tmp_path / "current"
    path = write_config(current)
    os.chmod(path, 0o644)
    assert write_config(current) == path and mode(path) == 0o600

    old = tmp_path / "old"
    old.mkdir()
    text = render(old, "kept-secret").replace("TEXTLENS_CONFIG_VERSION = ", "OLD = ")
    (old / CONFIG_NAME).write_text(text)
    os.chmod(old / CONFIG_NAME, 0o644)
    path = write_config(old)
    assert mode(path) == 0o600 and mode(old / (CONFIG_NAME + ".bak")) == 0o600
    assert "SECRET_KEY = 'kept-secret'" in path.read_text()


def _setup_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["superset", "setup", *argv])


def test_setup_generates_a_password_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    first, generated = setup_password(_setup_args(), initialized=False)
    second, _ = setup_password(_setup_args(), initialized=False)
    assert generated and first and len(first) >= 16 and first != second
    assert first != "admin"
    assert setup_password(_setup_args("--password", "s3cret!x"), False) == ("s3cret!x", False)
    monkeypatch.setenv(PASSWORD_ENV, "from-env-9")
    assert setup_password(_setup_args(), initialized=False) == ("from-env-9", False)
    monkeypatch.delenv(PASSWORD_ENV)
    # An existing home already has its admin: nothing is generated (or printed).
    assert setup_password(_setup_args(), initialized=True) == (None, False)


def test_bootstrap_requires_a_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """No admin/admin: without --password or the env var it stops before any request."""
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    code = main(
        [
            "superset",
            "bootstrap",
            "--superset-url",
            "http://127.0.0.1:1",
            "--db",
            str(tmp_path / "w.duckdb"),
            "--target",
            "127.0.0.1:1",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert PASSWORD_ENV in err and "--password" in err


@pytest.mark.superset
def test_superset_home_files_are_private(superset: Any) -> None:
    """The e2e suite's home, made by setup_home and used by a running Superset."""
    home = Path(superset.home)
    assert mode(home / CONFIG_NAME) == 0o600
    assert mode(home / "superset.db") == 0o600
