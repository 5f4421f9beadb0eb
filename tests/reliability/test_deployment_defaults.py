"""Deployment defaults the outside tester broke (issue 22, items 4, 10 and 11).

* Item 4: `textlens ray serve` on a local cluster it starts keeps Serve's
  proxies on loopback, prints the address they are bound to (read from the
  socket table), keeps Ray's token file 0600 and names Ray's own ports that
  cannot be kept off other interfaces. The real command, in a subprocess, with
  a HOME of its own (about 30 s; skipped without `textlens[ray]`).
* Item 10: `textlens train` on a really full file system (a small tmpfs,
  needs root to mount; skipped otherwise) ends in one line and exit code 1,
  and a run killed with SIGKILL leaves a `.staging/run-*` that the next run
  removes, while a running run's directory is never touched.
* Item 11: a token in the clear to a non-loopback host is warned about.
  gRPC channels connect lazily, so constructing a client for 10.255.255.1
  sends nothing: no call is made here to a non-loopback target.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import free_port
from tests.ray_local import tiny_ray_toml
from textlens.client import Client
from textlens.client.channel import PlaintextTokenWarning, is_loopback_target
from textlens.server.ray_serve.sockets import descendants, listeners

pytestmark = pytest.mark.reliability


# --------------------------------------------------------------------------
# Item 4: what `textlens ray serve` exposes on a local cluster
# --------------------------------------------------------------------------


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


@pytest.mark.ray
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
    command = [sys.executable, "-m", "textlens.cli", "ray", "serve"]
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


# --------------------------------------------------------------------------
# Item 11: a token over a plaintext channel to another host
# --------------------------------------------------------------------------

FAR = "10.255.255.1:1"


def constructed(target: str, **kwargs: object) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        Client(target, **kwargs).close()  # type: ignore[arg-type]
    return [w for w in seen if issubclass(w.category, PlaintextTokenWarning)]


@pytest.mark.parametrize(
    "target", ["127.0.0.1:50051", "localhost:1", "[::1]:1", "ipv4:127.0.0.1:1,127.0.0.2:2"]
)
def test_a_token_to_loopback_is_not_warned(target: str) -> None:
    assert constructed(target, token="t0k3n") == []


@pytest.mark.parametrize(
    "target",
    [FAR, "db.example.com:50051", "dns:///textlens.svc:50051", "ipv4:127.0.0.1:1,10.0.0.2:2"],
)
def test_a_token_in_the_clear_to_another_host_is_warned(
    target: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("textlens.client.channel._warned", set())  # logged once per target
    with caplog.at_level(logging.WARNING, logger="textlens.client"):
        (warning,) = constructed(target, token="t0k3n")
    text = str(warning.message)
    assert "plaintext" in text and "TLS" in text and "t0k3n" not in text
    assert warning.filename == __file__  # points at the caller, not at textlens
    assert [r for r in caplog.records if "plaintext" in r.getMessage()]


def test_the_environment_token_counts_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTLENS_TOKEN", "from-env")
    assert len(constructed(FAR)) == 1


def test_no_token_or_tls_is_not_warned(
    pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEXTLENS_TOKEN", raising=False)
    assert constructed(FAR) == []
    assert constructed(FAR, token="t0k3n", tls=str(pki["ca"])) == []


def test_register_warns_through_its_remote_backend() -> None:
    pytest.importorskip("duckdb")
    from textlens.connectors.duckdb.register import choose_backend

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        backend = choose_backend(FAR, "remote", None, 5.0, token="t0k3n")  # what register() does
        backend.close()
    assert any(issubclass(w.category, PlaintextTokenWarning) for w in seen)


def test_loopback_targets() -> None:
    assert is_loopback_target("unix:/tmp/textlens.sock")
    assert not is_loopback_target("127.0.0.1.nip.io:1")


# --------------------------------------------------------------------------
# Item 10: `textlens train` on a full disk; staging directories of killed runs
# --------------------------------------------------------------------------

TRAIN_QUERY = "SELECT body AS text, topic AS label FROM tickets WHERE labelled"
TINY_TRAIN = ["--epochs", "1", "--max-length", "24", "--batch-size", "8", "--threads", "1"]


def training_db(path: Path) -> Path:
    from tests.server.training.helpers import topic_rows

    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE tickets (body VARCHAR, topic VARCHAR, labelled BOOLEAN)")
        con.executemany(
            "INSERT INTO tickets VALUES (?, ?, true)", [list(r) for r in topic_rows(90)]
        )
    return path


@contextmanager
def full_filesystem(where: Path, free_kib: int = 16) -> Iterator[Path]:
    """A real file system with `free_kib` KiB left: a small tmpfs, filled with ballast."""
    where.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"needs a real full file system: cannot mount a tmpfs here ({exc})")
    try:
        with open(where / "ballast", "wb", buffering=0) as out:
            try:
                while True:
                    out.write(b"\0" * 4096)
            except OSError:
                pass  # full
        with open(where / "ballast", "r+b") as out:
            out.truncate(max(0, (where / "ballast").stat().st_size - free_kib * 1024))
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def test_train_on_a_full_disk_says_so_in_one_line(
    tiny_models_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch", reason="training needs the `models` extra")
    pytest.importorskip("matplotlib", reason="reports need matplotlib")
    from textlens.cli import main

    db = training_db(tmp_path / "warehouse.duckdb")
    base = ["--base", str(tiny_models_dir["tiny-encoder"]), "--method", "full"]
    argv = ["train", "--db", str(db), "--query", TRAIN_QUERY, *base, *TINY_TRAIN]
    with full_filesystem(tmp_path / "full") as disk:
        registry = disk / "registry"
        code = main([*argv, "--register", "topics", "--registry", str(registry)])
        err = capsys.readouterr().err
        assert code == 1, err
        lines = [line for line in err.splitlines() if line.startswith("textlens:")]
        assert len(lines) == 1 and "disk is full" in lines[0], err
        assert "nothing was registered" in lines[0] and "Traceback" not in err
        assert not (registry / "topics").exists()
        assert [p.name for p in (registry / ".staging").iterdir()] == []
        out = disk / "model"
        assert main([*argv, "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert "disk is full" in err and f"{out} is incomplete" in err and "Traceback" not in err


def test_a_killed_training_run_leaves_no_staging_behind(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    """kill -9 mid-run leaves `.staging/run-*`; the next run removes it."""
    pytest.importorskip("torch", reason="training needs the `models` extra")
    from textlens.server.model_store import ModelStore

    db = training_db(tmp_path / "warehouse.duckdb")
    registry = tmp_path / "registry"
    argv = [
        "train", "--db", str(db), "--query", TRAIN_QUERY, "--base",
        str(tiny_models_dir["tiny-encoder"]), "--epochs", "50", "--max-length", "24",
        "--batch-size", "8", "--threads", "1", "--register", "topics", "--registry", str(registry),
    ]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "textlens.cli", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        runs: list[Path] = []
        while not runs and time.monotonic() < deadline and proc.poll() is None:
            runs = [p for p in (registry / ".staging").glob("run-*") if p.is_dir()]
            time.sleep(0.05)
        assert runs, "the run never staged a directory"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert all(run.exists() for run in runs)  # what nothing used to remove
    with ModelStore(registry).staging() as fresh:  # the next run
        assert fresh.exists()
        left = sorted(p.name for p in (registry / ".staging").iterdir())
        assert left == sorted([fresh.name, fresh.name + ".owner"]), left
    assert list((registry / ".staging").iterdir()) == []


def test_staging_of_a_running_run_is_never_removed(tmp_path: Path) -> None:
    from textlens.server import model_staging as staging
    from textlens.server.model_store import ModelStore

    store = ModelStore(tmp_path / "registry")
    base = tmp_path / "registry" / ".staging"
    with store.staging() as running:  # this process: alive
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            other = base / "run-other-process"
            other.mkdir()
            (base / "run-other-process.owner").write_text(
                json.dumps(
                    {
                        "host": socket.gethostname(),
                        "boot": staging._boot_id(),
                        "pid": sleeper.pid,
                        "started": staging._start_time(sleeper.pid),
                    }
                )
            )
            fresh_unowned = base / "run-before-the-fix"
            fresh_unowned.mkdir()
            old_unowned = base / "run-old-before-the-fix"
            old_unowned.mkdir()
            two_days_ago = time.time() - 2 * 86400
            os.utime(old_unowned, (two_days_ago, two_days_ago))
            assert staging.sweep(base) == [old_unowned]
            assert running.exists() and other.exists() and fresh_unowned.exists()
        finally:
            sleeper.kill()
            sleeper.wait(30)
        assert staging.sweep(base) == [other]  # its owner is gone now
