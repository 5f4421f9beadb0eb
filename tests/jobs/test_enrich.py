"""`textlens enrich`'s promises (README "Enrich a table"): all or nothing, every option.

Real `textlens enrich` child processes against real `textlens serve` children
over the tiny models. Where a run must be interrupted in the middle (the
server killed, Ctrl-C), the test waits for the progress bar to show rows
done, a real sign that the run is under way, and not for a fixed time.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

duckdb = pytest.importorskip("duckdb")

#: Rows of the table the interrupted runs enrich: enough that they run for seconds.
BIG = 60_000


class Enrich:
    """A `textlens enrich` child whose stderr (the progress bar) is read as it comes."""

    def __init__(self, *args: str | Path) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        env.pop("TEXTLENS_TARGET", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "textlens.cli", "enrich", *map(str, args)],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        self.err = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        while chunk := self.proc.stderr.read1(4096):  # type: ignore[attr-defined]
            self.err += chunk

    def wait_for_rows(self, timeout: float = 120) -> None:
        """Until the progress bar shows some rows done (tqdm's `N/TOTAL`, N > 0)."""
        deadline = time.monotonic() + timeout
        while not re.search(rb"\b[1-9]\d*/\d+ \[", self.err):
            assert self.proc.poll() is None, f"enrich ended early: {self.err.decode()}"
            assert time.monotonic() < deadline, f"no progress: {self.err.decode()}"
            time.sleep(0.02)

    def finish(self, timeout: float = 180) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code, self.err.decode(errors="replace")


def run(*args: str | Path) -> tuple[int, str]:
    return Enrich(*args).finish()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """reviews (10 rows), big (BIG distinct rows) and kept (an earlier enrich output)."""
    path = tmp_path_factory.mktemp("enrich") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE reviews AS SELECT i AS id, CASE WHEN i = 3 THEN NULL ELSE "
            "'review ' || i || ' the phone in berlin is great' END AS review FROM range(10) r(i)"
        )
        con.execute(
            f"CREATE TABLE big AS SELECT i AS id, 'big review number ' || i AS review "
            f"FROM range({BIG}) r(i)"
        )
        con.execute("CREATE TABLE kept AS SELECT 1 AS id, 'before' AS sentiment")
    return path


def tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}


def test_a_failed_replace_leaves_the_existing_table_untouched(db: Path, tiny_server: Any) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE OR REPLACE TABLE with_long AS SELECT * FROM reviews UNION ALL "
            "SELECT 99, repeat('a very long review ', 400)"
        )
    before = tables(db)["kept"]
    code, err = run(
        "--db", db, "--table", "with_long", "--column", "review", "--out", "kept", "--replace",
        "--truncation", "error", "--target", tiny_server.target, "--no-progress",
    )  # fmt: skip
    assert code == 1 and "TextTooLong" in err and "nothing was written" in err, err
    assert tables(db)["kept"] == before == [(1, "before")]


def test_the_server_gone_mid_run_writes_nothing(
    db: Path, tiny_config: Path, tmp_path: Path
) -> None:
    from textlens.server.process import ServerProcess

    with ServerProcess(tiny_config, env={"OMP_NUM_THREADS": "1"}) as server:
        enrich = Enrich(
            "--db", db, "--table", "big", "--column", "review", "--out", "gone",
            "--target", server.target,
        )  # fmt: skip
        enrich.wait_for_rows()
        server.kill()
        code, err = enrich.finish()
    assert code == 1 and "nothing was written" in err, err
    assert server.target in err or "unavailable" in err.lower(), err
    assert "gone" not in tables(db)


def test_ctrl_c_writes_nothing(db: Path, tiny_server: Any, tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) in the middle: exit 130 at once (not when the query ends), no table,
    and no file or temp file."""
    for out in ("interrupted", tmp_path / "interrupted.parquet"):
        enrich = Enrich(
            "--db", db, "--table", "big", "--column", "review", "--out", out,
            "--target", tiny_server.target,
        )  # fmt: skip
        enrich.wait_for_rows()
        enrich.proc.send_signal(signal.SIGINT)
        code, err = enrich.finish()
        assert code == 130 and "interrupted; nothing was written" in err, err
        assert f"{BIG}/{BIG}" not in err, f"Ctrl-C waited for the whole query: {err}"
    assert "interrupted" not in tables(db)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_file_output_leaves_no_file(db: Path, tiny_server: Any, tmp_path: Path) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE OR REPLACE TABLE with_long AS SELECT * FROM reviews UNION ALL "
            "SELECT 99, repeat('a very long review ', 400)"
        )
    for name in ("out.parquet", "out.csv", "out.json"):
        code, err = run(
            "--db", db, "--table", "with_long", "--column", "review", "--out", tmp_path / name,
            "--truncation", "error", "--target", tiny_server.target, "--no-progress",
        )  # fmt: skip
        assert code == 1 and "nothing was written" in err, err
    assert list(tmp_path.iterdir()) == []


def test_model_and_column_prefix(db: Path, tiny_server: Any) -> None:
    """--model picks another model of the task; --column-prefix renames the new columns."""
    from textlens.connectors.duckdb import register

    code, err = run(
        "--db", db, "--table", "reviews", "--column", "review", "--out", "short",
        "--tasks", "sentiment,embed", "--model", "embed=tiny-embed-short",
        "--column-prefix", "tl_", "--target", tiny_server.target, "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    with duckdb.connect(str(db)) as con:
        columns = [r[0] for r in con.execute("DESCRIBE short").fetchall()]
        assert columns == ["id", "review", "tl_sentiment", "tl_sentiment_score", "tl_embedding"]
        with register(con, tiny_server.target):
            mismatched = con.execute(
                "SELECT count(*) FROM short JOIN reviews USING (id) WHERE "
                "tl_embedding IS DISTINCT FROM embed(reviews.review, 'tiny-embed-short') "
                "OR tl_sentiment IS DISTINCT FROM sentiment(reviews.review)"
            ).fetchone()
            differs = con.execute(
                "SELECT count(*) FROM short JOIN reviews USING (id) "
                "WHERE tl_embedding <> embed(reviews.review, 'tiny-embed')"
            ).fetchone()
    assert mismatched == (0,)
    assert differs is not None and differs[0] >= 5  # the short model reads 8 tokens


def test_csv_json_and_glob_sources_and_outputs(db: Path, tiny_server: Any, tmp_path: Path) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute(f"COPY (SELECT * FROM reviews WHERE id < 5) TO '{tmp_path}/a.csv'")
        con.execute(f"COPY (SELECT * FROM reviews WHERE id >= 5) TO '{tmp_path}/b.csv'")
        con.execute(f"COPY reviews TO '{tmp_path}/reviews.json' (FORMAT json)")
    common = ("--column", "review", "--target", tiny_server.target, "--no-progress")
    code, err = run("--table", f"{tmp_path}/*.csv", "--out", tmp_path / "from_csv.json", *common)
    assert code == 0, err
    code, err = run("--table", tmp_path / "reviews.json", "--out", tmp_path / "out.csv", *common)
    assert code == 0, err
    with duckdb.connect() as con:
        for path in (tmp_path / "from_csv.json", tmp_path / "out.csv"):
            row = con.execute(
                f"SELECT count(*), count(DISTINCT id), count(sentiment), "
                f"bool_and(sentiment IN ('negative', 'positive')) FROM '{path}'"
            ).fetchone()
            assert row == (10, 10, 9, True), (path, row)


def test_an_existing_file_output_needs_replace(db: Path, tiny_server: Any, tmp_path: Path) -> None:
    """Issue 22, item 17: `--out file.parquet` overwrote an existing file without
    `--replace` (a table output and `enrich --ray` refuse)."""
    out = tmp_path / "enriched.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 'precious' AS earlier) TO '{out}' (FORMAT parquet)")
    before = out.read_bytes()
    common = ("--db", db, "--table", "reviews", "--column", "review", "--out", out)
    code, err = run(*common, "--target", tiny_server.target, "--no-progress")
    assert code == 2 and "already exists" in err and "--replace" in err, err
    assert out.read_bytes() == before and sorted(tmp_path.iterdir()) == [out]
    code, err = run(*common, "--target", tiny_server.target, "--no-progress", "--replace")
    assert code == 0, err
    with duckdb.connect() as con:
        assert con.execute(f"SELECT count(*) FROM '{out}'").fetchone() == (10,)


def test_a_file_that_appears_mid_run_is_not_overwritten(tmp_path: Path) -> None:
    """The last step without `--replace` cannot clobber a file created meanwhile."""
    from textlens.jobs.sql import copy_query

    out = tmp_path / "out.csv"
    out.write_text("someone else's\n")
    with duckdb.connect() as con, pytest.raises(ValueError, match="already exists"):
        copy_query(con, "SELECT 1 AS x", "csv", out, replace=False)
    assert out.read_text() == "someone else's\n" and sorted(tmp_path.iterdir()) == [out]
