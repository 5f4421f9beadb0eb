"""Issue 22 item 1: `textlens_sandbox=true` keeps a connection off the host's files.

The outside tester read the TLS key, the token file and `superset_config.py`
through Superset's SQL Lab (`read_text`, `read_blob('/proc/self/environ')`,
`glob('/**')`) and wrote `COPY (...) TO '<path>.py'`. Superset's engine spec
forces the sandbox on (tests/superset_plugin/test_sandbox.py proves it through
SQL Lab); here the dialect alone, with a URL "edited" to switch it all back on.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from textlens.connectors.sqlalchemy.dialect import close_all
from textlens.connectors.sqlalchemy.sandbox import SandboxError, check_sql


@pytest.fixture
def sandbox_dir(warehouse: Path, tmp_path: Path) -> Path:
    """A copy of the warehouse (its own DuckDB instance), a Parquet file beside it in
    `allowed/`, and a secret outside."""
    shutil.copyfile(warehouse, tmp_path / "warehouse.duckdb")
    (tmp_path / "allowed").mkdir()
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 42 AS answer) TO '{tmp_path}/allowed/data.parquet'")
    (tmp_path / "secret.txt").write_text("SECRET_KEY = 'x'\n")
    return tmp_path


@pytest.fixture
def sandboxed(sandbox_dir: Path, tiny_server: Any) -> Iterator[sa.Engine]:
    """The sandboxed URL, plus what a user who edits it might add to open it up again."""
    url = (
        f"duckdb+textlens:///{sandbox_dir}/warehouse.duckdb?read_only=true"
        f"&textlens_target={tiny_server.target}&textlens_sandbox=true"
        f"&textlens_allowed_directories={sandbox_dir}/allowed"
        "&enable_external_access=true&autoload_known_extensions=true&lock_configuration=false"
    )
    engine = sa.create_engine(  # NullPool, as Superset: every query a new DuckDB connection
        url,
        poolclass=sa.pool.NullPool,
        connect_args={
            "config": {"enable_external_access": True, "allowed_paths": ["/"]},
            "preload_extensions": ["httpfs"],  # would fail: not installed, and no network
        },
    )
    yield engine
    engine.dispose()
    close_all()


def refused(engine: sa.Engine, sql: str) -> str:
    """The error `sql` raises on a fresh connection (fails the test when it runs)."""
    with engine.connect() as con:
        try:
            con.execute(sa.text(sql)).fetchall()
        except (sa.exc.DBAPIError, PermissionError) as exc:
            return str(exc)
    raise AssertionError(f"the sandbox let this run: {sql}")


def test_sandbox_refuses_the_host_and_keeps_the_functions(
    sandboxed: sa.Engine, sandbox_dir: Path
) -> None:
    outside = sandbox_dir / "secret.txt"
    allowed = sandbox_dir / "allowed"
    reads = [
        f"SELECT * FROM read_text('{outside}')",
        "SELECT * FROM read_blob('/proc/self/environ')",
        "SELECT * FROM glob('/**')",
        f"SELECT * FROM read_csv('{outside}')",
        f"SELECT * FROM read_text('{allowed}/../secret.txt')",
        f"ATTACH '{sandbox_dir}/warehouse.duckdb' AS again",
    ]
    for sql in reads:
        why = refused(sandboxed, sql)
        assert "disabled by configuration" in why or "textlens sandbox" in why, (sql, why)
    settings = [
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET lock_configuration = false",
        "RESET lock_configuration",
        "SET autoload_known_extensions = true",
    ]
    for sql in settings:
        assert "configuration has been locked" in refused(sandboxed, sql), sql
    writes = [
        f"COPY (SELECT 1) TO '{sandbox_dir}/evil.py'",
        f"COPY (SELECT 1) TO '{allowed}/evil.csv'",  # allowed to read, not to write
        f"EXPORT DATABASE '{allowed}/export'",
        f"ATTACH '{allowed}/new.duckdb' AS new",
        f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{allowed}/explained.csv'",
        f"PREPARE p AS COPY (SELECT 1) TO '{allowed}/prepared.csv'",
        f"SELECT 1; COPY (SELECT 1) TO '{allowed}/second.csv'",
        "INSTALL httpfs",
        "LOAD httpfs",
    ]
    for sql in writes:
        assert "refused by the textlens sandbox" in refused(sandboxed, sql), sql
    assert sorted(p.name for p in allowed.iterdir()) == ["data.parquet"]
    assert sorted(p.name for p in sandbox_dir.iterdir()) == [
        "allowed",
        "secret.txt",
        "warehouse.duckdb",
    ]
    with sandboxed.connect() as con:  # what the dashboards need still works
        assert (
            con.execute(
                sa.text(f"SELECT answer FROM read_parquet('{allowed}/data.parquet')")
            ).scalar_one()
            == 42
        )
        assert con.execute(sa.text(f"SELECT count(*) FROM glob('{allowed}/*')")).scalar_one() == 1
        assert con.execute(sa.text("SELECT sentiment('great product')")).scalar_one() in {
            "negative",
            "positive",
        }
        assert con.execute(sa.text("SELECT count(*) FROM reviews")).scalar_one() == 300
        external = con.execute(sa.text("SELECT current_setting('enable_external_access')"))
        assert external.scalar_one() is False
    raw = sandboxed.raw_connection()
    try:  # Superset's raw connections (get_raw_connection) are checked as well
        cursor = raw.cursor()
        with pytest.raises(SandboxError):
            cursor.execute(f"COPY (SELECT 1) TO '{allowed}/raw.csv'")
        with pytest.raises(SandboxError):
            raw.driver_connection.execute(f"COPY (SELECT 1) TO '{allowed}/raw.csv'")
    finally:
        raw.close()
    assert not (allowed / "raw.csv").exists()


def test_without_the_sandbox_the_url_is_unchanged(sandbox_dir: Path, tiny_server: Any) -> None:
    """The dialect's default (notebooks, ETL) still reads files: the sandbox is opt-in
    there, and forced only by Superset's engine spec."""
    engine = sa.create_engine(
        f"duckdb+textlens:///{sandbox_dir}/warehouse.duckdb?read_only=true"
        f"&textlens_target={tiny_server.target}"
    )
    try:
        with engine.connect() as con:
            text = con.execute(
                sa.text(f"SELECT content FROM read_text('{sandbox_dir}/secret.txt')")
            ).scalar_one()
        assert "SECRET_KEY" in text
    finally:
        engine.dispose()
        close_all()


def test_check_sql_fails_closed() -> None:
    with duckdb.connect() as con:
        check_sql(con, "SELECT 1")
        check_sql(con, "EXPLAIN SELECT 1")
        check_sql(con, "this is not sql")  # DuckDB's own parse error comes when it runs
        for sql in ("COPY t TO 'x.csv'", "UPDATE EXTENSIONS", "FORCE INSTALL x"):
            with pytest.raises(SandboxError):
                check_sql(con, sql)


def test_first_connections_at_once_all_get_the_sandbox(
    sandboxed: sa.Engine, sandbox_dir: Path
) -> None:
    """Superset opens a dashboard's chart connections in parallel: every one of them, the
    first ones to a fresh database included, must work (the check-then-lock raced: a
    second connection's `SET allowed_directories` met the first one's lock)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    threads = 8
    barrier = threading.Barrier(threads)

    def first_query(_: int) -> Any:
        barrier.wait(timeout=30)
        with sandboxed.connect() as con:
            sql = f"SELECT answer FROM read_parquet('{sandbox_dir}/allowed/data.parquet')"
            return con.execute(sa.text(sql)).scalar_one()

    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(first_query, range(threads)))
    assert answers == [42] * threads
    assert "SECRET_KEY" not in refused(sandboxed, f"SELECT read_text('{sandbox_dir}/secret.txt')")
