"""A local Superset from `.venv-superset`: home setup (config, metadata, admin) and a server process.

Used by `make superset-demo` and the end-to-end tests. Superset runs under
gunicorn with two worker processes, as deployed: each has its own read-only
DuckDB connections, so the file lock must allow several readers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections import deque
from pathlib import Path
from threading import Thread
from types import TracebackType
from typing import Self

from textlens.superset_tools.config import make_private, write_config, write_private

#: The Superset release the constraints file was tested with.
SUPERSET_VERSION = "6.1.0"
DEFAULT_VENV = Path(".venv-superset")
INIT_STAMP = ".textlens-initialized"
#: The SQLite metadata database superset_config.py names.
METADATA_NAME = "superset.db"


def superset_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every `superset` command and the server need."""
    return {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str((home / "superset_config.py").resolve()),
        "SUPERSET_HOME": str(home.resolve()),
        "FLASK_APP": "superset",
        "PYTHONUNBUFFERED": "1",
        **(extra or {}),
    }


def executable(venv: Path, name: str) -> Path:
    """`venv/bin/name`, with a clear error when the venv was not built."""
    path = venv.resolve() / "bin" / name  # absolute: the commands run in the home dir
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: build Superset's environment first (make superset-venv)"
        )
    return path


def is_initialized(home: Path) -> bool:
    """Whether `setup_home` already made the metadata database and the admin of `home`."""
    return (home / INIT_STAMP).exists()


def setup_home(venv: Path, home: Path, username: str, password: str) -> None:
    """Config, metadata database, admin user and roles, once per home (a stamp remembers).

    The config and `superset.db` are 0600 (existing ones are fixed): one holds the
    SECRET_KEY, the other the users' password hashes and the encrypted connections.
    """
    write_config(home)
    metadata = home / METADATA_NAME
    make_private(metadata)
    if is_initialized(home):
        return
    if not password:
        raise ValueError("setup_home needs the admin's password (none given)")
    if not metadata.exists():  # SQLite keeps the mode of an existing file (and its journal's)
        write_private(metadata, "")
    superset = str(executable(venv, "superset"))
    env = superset_env(home)
    steps = [
        [superset, "db", "upgrade"],
        [superset, "fab", "create-admin", "--username", username, "--firstname", "Admin",
         "--lastname", "User", "--email", f"{username}@localhost", "--password", password],
        [superset, "init"],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, env=env, cwd=home, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"`{' '.join(step[1:3])}` failed ({done.returncode}):\n{done.stdout[-3000:]}"
                f"{done.stderr[-3000:]}"
            )
    make_private(metadata)
    (home / INIT_STAMP).write_text(SUPERSET_VERSION + "\n")


def terminate(proc: subprocess.Popen[str], timeout: float) -> int:
    """SIGTERM, then SIGKILL after `timeout` seconds; the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StopOnExit:
    """`with X(...) as x:` stops x at the end of the block."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()


class SupersetProcess:
    """Superset under gunicorn on 127.0.0.1; `url` once healthy. Stops on exit from `with`."""

    def __init__(
        self,
        venv: Path,
        home: Path,
        *,
        port: int = 0,
        workers: int = 2,
        startup_timeout: float = 300.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = home
        self.log: deque[str] = deque(maxlen=500)
        cmd = [
            str(executable(venv, "gunicorn")),
            "--workers", str(workers),
            "--worker-class", "gthread",
            "--threads", "4",
            "--timeout", "300",
            "--bind", f"127.0.0.1:{self.port}",
            "superset.app:create_app()",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            env=superset_env(home, env),
            cwd=home,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        Thread(target=self._drain, daemon=True).start()
        self._wait_healthy(startup_timeout)

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)

    def output(self) -> str:
        return "".join(self.log)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Superset exited ({self.proc.returncode}):\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as answer:
                    if answer.read().strip() == b"OK":
                        return
            except OSError:
                pass
            time.sleep(1.0)
        self.stop()
        raise RuntimeError(f"Superset was not healthy after {timeout:.0f}s:\n{self.output()}")

    def stop(self, timeout: float = 30.0) -> int:
        return terminate(self.proc, timeout)

    def __enter__(self) -> SupersetProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
