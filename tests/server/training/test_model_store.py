"""The registry directory: versions, the CURRENT pointer, staging that vanishes on failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textlens.server.model_store import META_FILE, ModelStore, RegistryError


def fake_delta(path: Path, task: str = "classify") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / META_FILE).write_text(json.dumps({"format": "textlens-delta/1", "task": task}))
    return path


def test_publish_numbers_versions_and_moves_current(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "reg")
    assert store.entries() == [] and store.current("m") is None
    with store.staging() as staged:
        fake_delta(staged)
        assert store.publish("m", staged) == "v1"
    with store.staging() as staged:
        fake_delta(staged)
        assert store.publish("m", staged, promote=False) == "v2"
    assert store.versions("m") == ["v1", "v2"]
    assert store.current("m") == ("v1", tmp_path / "reg" / "m" / "v1")
    store.promote("m", "v2")
    (entry,) = store.entries()
    assert (entry.name, entry.version, entry.task) == ("m", "v2", "classify")
    assert list((tmp_path / "reg" / ".staging").iterdir()) == []


def test_failed_run_leaves_registry_unchanged(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "reg")
    with store.staging() as staged:
        store.publish("m", fake_delta(staged))
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "reg").rglob("*"))
    with pytest.raises(RuntimeError), store.staging() as staged:
        fake_delta(staged)
        raise RuntimeError("training crashed")
    after = sorted(p.relative_to(tmp_path) for p in (tmp_path / "reg").rglob("*"))
    assert after == before


def test_bad_names_and_versions(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    with pytest.raises(RegistryError, match="not valid"):
        store.versions("../escape")
    with pytest.raises(RegistryError, match="no version 'v9'"):
        store.promote("m", "v9")
    with pytest.raises(RegistryError, match="holds no textlens model"):
        store.publish("m", tmp_path)
