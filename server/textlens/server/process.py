"""Run `textlens serve` as a child process on a free loopback port.

Used by `make demo`, the benchmarks and the tests: they all talk to a real
server process over a real socket, exactly as a remote backend would.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from types import TracebackType

READY = re.compile(r"textlens: serving on (?P<host>[^\s:]+):(?P<port>\d+)")


class ServerProcess:
    """A started server; `target` is its host:port. Stops on exit from a `with` block."""

    def __init__(
        self,
        config: Path | None = None,
        *,
        env: dict[str, str] | None = None,
        startup_timeout: float = 300.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        cmd = [
            sys.executable,
            "-m",
            "textlens.cli",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
        ]
        if config is not None:
            cmd += ["--config", str(config)]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env
        )
        self.log: deque[str] = deque(maxlen=400)
        self.port = self._wait_ready(startup_timeout)
        self.host = host
        threading.Thread(target=self._drain, daemon=True).start()

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def _wait_ready(self, timeout: float) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            self.log.append(line)
            match = READY.search(line)
            if match:
                return int(match.group("port"))
            if time.monotonic() > deadline:
                break
        self.proc.kill()
        raise RuntimeError("textlens server did not start:\n" + "".join(self.log))

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)

    def output(self) -> str:
        return "".join(self.log)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the server and wait for it; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
