"""The socket table behind `textlens ray serve`'s printed address (issue 22, item 4).

The real command on a local cluster is tested in
tests/reliability/test_deployment_defaults.py.
"""

from __future__ import annotations

import os
import socket

from textlens.server.ray_serve.sockets import Listener, descendants, listeners


def test_listeners_reads_the_socket_table() -> None:
    with socket.socket() as v4, socket.socket(socket.AF_INET6) as v6:
        v4.bind(("127.0.0.1", 0))
        v4.listen()
        v6.bind(("::", 0))
        v6.listen()
        found = {x.port: x for x in listeners(descendants(os.getpid()))}
        loop, anywhere = found[v4.getsockname()[1]], found[v6.getsockname()[1]]
    assert loop.host == "127.0.0.1" and loop.loopback
    assert anywhere.host == "::" and not anywhere.loopback
    assert Listener(1, "x", "::ffff:127.0.0.1", 1).loopback
