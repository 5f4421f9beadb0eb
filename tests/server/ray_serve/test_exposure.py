"""What `textlens ray serve` exposes on a local cluster (issue 22, item 4).

The outside tester found Serve's gRPC proxy on `[::]:port` in plaintext while
the command printed 127.0.0.1, and Ray's token file 0644. Here the real
command starts its own local cluster in a subprocess (`--address local`, a
HOME of its own so the token file is this test's), and the listening sockets
of that process tree are read from /proc: the proxies are bound to loopback
only, the printed address is the bound one, the token file is 0600, and
Ray's own ports that cannot be kept off other interfaces are named in a
warning. About 30 s on 2 cores; skipped without `textlens[ray]`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ray_local import tiny_ray_toml
from textlens.server.ray_serve.sockets import Listener, descendants, listeners

pytestmark = pytest.mark.ray


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def test_an_existing_token_file_is_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textlens.server.ray_serve.exposure import secure_token_file

    token = tmp_path / "auth_token"
    token.write_text("t" * 64)
    token.chmod(0o644)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    assert secure_token_file() == token
    assert token.stat().st_mode & 0o777 == 0o600
    fresh = tmp_path / "new" / "auth_token"
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(fresh))
    secure_token_file()
    assert fresh.stat().st_mode & 0o777 == 0o600 and len(fresh.read_text()) == 64


def test_a_local_cluster_keeps_the_proxies_on_loopback(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    pytest.importorskip("ray", reason="needs textlens[ray] (pip install 'textlens[ray]')")
    grpc_port, http_port = free_port(), free_port()
    config = tmp_path / "textlens.toml"
    config.write_text(
        tiny_ray_toml(tiny_models_dir)
        + f"\n[ray]\nnum_replicas = 1\nnum_cpus = 0.5\ngrpc_port = {grpc_port}\n"
        f"http_port = {http_port}\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env |= {"HOME": str(home), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "textlens.server.cli", "ray", "serve"]
    proc = subprocess.Popen(
        [*command, "--config", str(config), "--address", "local"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = ""
        deadline = time.monotonic() + 240
        while "Ray Serve app" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "Ray Serve app" in line, proc.stderr.read() if proc.poll() is not None else line
        sockets = listeners(descendants(proc.pid))
        proxy = [x for x in sockets if x.port == grpc_port]
        http = [x for x in sockets if x.port == http_port]
        assert proxy and all(x.loopback for x in proxy), [str(x) for x in proxy]
        assert http and all(x.loopback for x in http), [str(x) for x in http]
        assert f"127.0.0.1:{grpc_port}" in line, line
        token = home / ".ray" / "auth_token"
        assert token.exists() and token.stat().st_mode & 0o777 == 0o600
        exposed = [x for x in sockets if not x.loopback]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if exposed:  # Ray's own processes: named, not hidden
            assert "Ray cannot bind its own processes to loopback" in err, err
            print(f"\nray serve: {len(exposed)} Ray sockets off loopback, warned: {exposed[0]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
