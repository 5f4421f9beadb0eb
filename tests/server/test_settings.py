"""Settings: defaults, TOML, environment precedence, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from textlens.server.settings import load_settings


def test_defaults_serve_the_embedded_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXTLENS_CONFIG", raising=False)
    settings = load_settings()
    assert {m.task for m in settings.models} == {"sentiment", "aspect", "ner", "embed"}
    assert all(m.source.startswith("builtin:") for m in settings.models)
    assert settings.max_message_bytes >= 7 * 1024 * 1024  # a 2048 x 768 float32 chunk


def test_toml_then_env_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "textlens.toml"
    config.write_text(
        """
[server]
port = 6000
grace_seconds = 3

[[models]]
name = "finance"
task = "sentiment"
source = "some/hub-model"
max_batch_tokens = 4096
default = true

[[models]]
name = "minilm"
task = "embed"
source = "builtin:minilm"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("TEXTLENS_GRACE_SECONDS", "7")
    settings = load_settings(config)
    assert settings.port == 6000
    assert settings.grace_seconds == 7.0  # the environment wins over the file
    assert [m.name for m in settings.models] == ["finance", "minilm"]
    assert settings.models[0].max_batch_tokens == 4096 and settings.models[0].default
    assert load_settings(config, port=0).port == 0


def test_env_names_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[server]\nport = 6100\n", encoding="utf-8")
    monkeypatch.setenv("TEXTLENS_CONFIG", str(config))
    assert load_settings().port == 6100


def test_bad_configs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    dupes = tmp_path / "d.toml"
    dupes.write_text(
        '[[models]]\nname="a"\ntask="embed"\nsource="x"\n[[models]]\nname="a"\ntask="ner"\nsource="y"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match="unique"):
        load_settings(dupes)
    bad_task = tmp_path / "t.toml"
    bad_task.write_text('[[models]]\nname="a"\ntask="translate"\nsource="x"\n', encoding="utf-8")
    with pytest.raises(ValidationError):
        load_settings(bad_task)
