"""Fixtures of the client tests: real scripted gRPC servers on loopback ports.

See `scripted_server.py`. Torch-free: these run in the base install.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .scripted_server import ScriptedServer, unused_port


@pytest.fixture
def make_scripted_server() -> Iterator[Callable[..., ScriptedServer]]:
    """Create scripted servers, not yet started: `make_scripted_server(port=0)`.

    Start them with `.start()` (or `start_later`); all are stopped at teardown.
    """
    made: list[ScriptedServer] = []

    def make(port: int = 0) -> ScriptedServer:
        server = ScriptedServer(port)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def scripted_server(make_scripted_server: Callable[..., ScriptedServer]) -> ScriptedServer:
    """A started scripted server on a free loopback port; no failures scripted yet."""
    return make_scripted_server().start()


@pytest.fixture
def dead_target() -> str:
    """host:port of a loopback port nothing listens on."""
    return f"127.0.0.1:{unused_port()}"
