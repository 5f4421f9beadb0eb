"""What Superset's Alerts & Reports run on, locally: a loopback Redis, a Celery worker and beat.

Used by `make superset-demo` and the end-to-end test of the "Market pulse"
Alert: `RedisServer` runs Debian's `redis-server` on a free 127.0.0.1 port with
no persistence; `CeleryWorkers` runs `celery --app=superset.tasks.celery_app:app
worker` (one solo process: alerts are few and the machine small) and `beat`
from Superset's venv, with the same `superset_config.py` and environment as
the web server, so they share its metadata database and secret key;
`AlertDelivery` starts both and an SMTP sink (`smtp_sink.py`) wired together, so
an Alert's email lands in a mailbox folder.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections import deque
from contextlib import ExitStack
from pathlib import Path
from threading import Thread

from textlens.superset_tools.local import (
    StopOnExit,
    executable,
    free_port,
    superset_env,
    terminate,
)
from textlens.superset_tools.smtp_sink import SmtpSink

REDIS_READY = "Ready to accept connections"
WORKER_READY = "ready."
BEAT_READY = "beat: Starting"


class _Logged:
    """A child process whose output is kept (last lines) and searched for a ready line."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str] | None, cwd: Path) -> None:
        self.name = name
        self.log: deque[str] = deque(maxlen=2000)
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)

    def output(self) -> str:
        return "".join(self.log)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.log)):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.output()}")
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{self.output()}")

    def stop(self, timeout: float = 20.0) -> None:
        terminate(self.proc, timeout)


class RedisServer(StopOnExit):
    """`redis-server` on 127.0.0.1:`port` (free one by default), nothing saved to disk."""

    def __init__(self, binary: str = "redis-server", *, port: int = 0, timeout: float = 30.0):
        path = shutil.which(binary)
        if path is None:
            raise FileNotFoundError(f"{binary} is not installed (Debian: apt-get install {binary})")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory(prefix="textlens-redis-")
        cmd = [
            path, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", self._dir.name,
        ]  # fmt: skip
        self._proc = _Logged("redis-server", cmd, None, Path(self._dir.name))
        try:
            self._proc.wait_for(REDIS_READY, timeout)
        except RuntimeError:
            self.stop()
            raise

    def output(self) -> str:
        return self._proc.output()

    def stop(self) -> None:
        self._proc.stop()
        self._dir.cleanup()


class CeleryWorkers(StopOnExit):
    """Superset's Celery worker and beat for the home `home`; `env` sets Redis, SMTP, URL."""

    APP = "superset.tasks.celery_app:app"

    def __init__(
        self, venv: Path, home: Path, env: dict[str, str], *, timeout: float = 180.0
    ) -> None:
        celery = str(executable(venv, "celery"))
        full_env = superset_env(home, env)
        worker = [
            celery, f"--app={self.APP}", "worker", "--pool=solo", "--concurrency=1",
            "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        beat = [
            celery, f"--app={self.APP}", "beat", "--loglevel=INFO",
            f"--schedule={home.resolve() / 'celerybeat-schedule'}",
        ]  # fmt: skip
        self.worker = _Logged("celery worker", worker, full_env, home)
        self.beat = _Logged("celery beat", beat, full_env, home)
        try:
            self.worker.wait_for(WORKER_READY, timeout)
            self.beat.wait_for(BEAT_READY, timeout)
        except RuntimeError:
            self.stop()
            raise

    def output(self) -> str:
        return f"--- worker\n{self.worker.output()}\n--- beat\n{self.beat.output()}"

    def stop(self) -> None:
        self.beat.stop()
        self.worker.stop()


def delivery_env(redis_url: str, smtp_port: int, superset_url: str) -> dict[str, str]:
    """What the worker reads (superset_config.py): Redis, the loopback sink, the web server."""
    return {
        "TEXTLENS_REDIS_URL": redis_url,
        "TEXTLENS_SMTP_HOST": "127.0.0.1",
        "TEXTLENS_SMTP_PORT": str(smtp_port),
        # A sink on loopback: no TLS, no login, whatever the caller's environment says.
        "TEXTLENS_SMTP_STARTTLS": "false",
        "TEXTLENS_SMTP_USER": "",
        "TEXTLENS_SMTP_PASSWORD": "",
        "TEXTLENS_SUPERSET_URL": superset_url.rstrip("/") + "/",
    }


class AlertDelivery(StopOnExit):
    """Redis, the SMTP sink writing to `mailbox`, and Celery worker and beat for the Superset
    home `home` served at `superset_url`: what sends its Alerts' emails. Stops all on exit."""

    def __init__(self, venv: Path, home: Path, superset_url: str, mailbox: Path) -> None:
        self._stack = ExitStack()
        try:
            self.redis = self._stack.enter_context(RedisServer())
            self.sink = self._stack.enter_context(SmtpSink(mailbox))
            env = delivery_env(self.redis.url, self.sink.port, superset_url)
            self.workers = self._stack.enter_context(CeleryWorkers(venv, home, env))
        except BaseException:
            self._stack.close()
            raise

    def stop(self) -> None:
        self._stack.close()
