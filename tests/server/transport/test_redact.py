"""Issue 12 item 4: remote callers see model names and versions, never absolute server paths."""

from __future__ import annotations

from pathlib import Path

from textlens.client import Client
from textlens.server.assembly import load_models
from textlens.server.settings import ModelSpec
from textlens.server.transport.inprocess import InProcessServer
from textlens.server.transport.redact import public_source, redact_paths


def test_list_models_shows_no_absolute_path(tiny_models_dir: dict[str, Path]) -> None:
    source = tiny_models_dir["tiny-sequence"]
    assert source.is_absolute()
    spec = ModelSpec(
        name="s", task="sentiment", source=str(source), backend="torch", dtype="float32"
    )
    registry = load_models([spec])
    try:
        with InProcessServer(registry) as srv, Client(srv.target, retries=0) as c:
            (info,) = c.list_models()
        assert info.source == f"local:{source.parent.name}/{source.name}"
        assert str(source.parent) not in repr(info)
        assert registry.infos()[0].source == str(source)  # in-process callers keep the path
    finally:
        registry.close()


def test_messages_and_sources_are_cut_to_their_last_parts() -> None:
    message = "model directory '/srv/textlens/registry/topics/v2' does not exist"
    assert redact_paths(message) == "model directory '…/topics/v2' does not exist"
    assert (
        redact_paths("builtin:minilm and ProsusAI/finbert") == "builtin:minilm and ProsusAI/finbert"
    )
    assert public_source("/srv/textlens/registry/topics/v2") == "local:topics/v2"
    assert public_source("builtin:ner-minilm") == "builtin:ner-minilm"
    assert public_source("ProsusAI/finbert") == "ProsusAI/finbert"
