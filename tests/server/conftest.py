"""Fixtures for server tests: the default models loaded once, servers over them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from textlens.server.runtime.registry import ModelRegistry, ServedModel
from textlens.server.settings import default_models


@pytest.fixture(scope="session")
def default_served() -> Iterator[list[ServedModel]]:
    """The embedded default models, loaded once per test session."""
    registry = ModelRegistry.load(default_models())
    yield list(registry.models.values())
    registry.close()


@pytest.fixture
def inprocess_server(default_served: list[ServedModel]) -> Iterator[Callable[..., Any]]:
    """Start real gRPC servers (in this process) over the loaded models with custom knobs."""
    from textlens.server.runtime.embedded import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    started: list[InProcessServer] = []

    def start(model_knobs: dict[str, Any] | None = None, **settings: Any) -> InProcessServer:
        server = InProcessServer(rebatch(default_served, **(model_knobs or {})), **settings)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
