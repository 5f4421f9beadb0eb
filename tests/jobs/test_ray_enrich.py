"""`textlens enrich --ray` on a real local Ray cluster against the DuckDB `enrich`.

Issue 13, point 6: 20,000 generated rows through an actor pool of two, the
same row count, ids (in order) and answers as `textlens enrich` on the same
models; and all or nothing when an actor fails. Over the tiny models pinned to
torch float32 with one thread, so both sides compute the same numbers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import say
from tests.ray_local import tiny_ray_toml

pytestmark = pytest.mark.ray
pytest.importorskip("ray.data", reason="needs textlens[ray] (pip install 'textlens[ray]')")

ROWS = 20_000
TASKS = ["sentiment", "entities", "embed"]


@pytest.fixture(scope="module")
def workdir(tiny_models_dir: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """textlens.toml over the tiny models and reviews.parquet: ROWS generated rows."""
    import duckdb

    root = tmp_path_factory.mktemp("ray-enrich")
    (root / "textlens.toml").write_text(
        tiny_ray_toml(tiny_models_dir),
        encoding="utf-8",
    )
    duckdb.sql(
        f"""COPY (SELECT i AS id,
                CASE WHEN i % 97 = 0 THEN NULL
                     ELSE 'review ' || i || ' from Berlin: the ' ||
                          ['phone', 'battery', 'screen', 'bank'][i % 4 + 1] || ' is ' ||
                          ['great', 'awful', 'fine', 'broken', 'good'][i % 5 + 1] END AS text
            FROM range({ROWS}) r(i)) TO '{root / "reviews.parquet"}' (FORMAT parquet)"""
    )
    return root


def enrich_args(workdir: Path, out: Path, *extra: str) -> list[str]:
    return [
        "enrich",
        "--config", str(workdir / "textlens.toml"),
        "--column", "text",
        "--tasks", ",".join(TASKS),
        "--model", "sentiment=tiny-sentiment",
        "--model", "entities=tiny-ner",
        "--model", "embed=tiny-embed",
        "--out", str(out),
        "--no-progress",
        *extra,
    ]  # fmt: skip


def schema(path: Path) -> list[tuple[str, str]]:
    """(column, type) as DuckDB reads the file back."""
    import duckdb

    return [(r[0], r[1]) for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()]


def read(path: Path) -> dict[str, list[Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pydict()


def test_same_rows_ids_and_answers_as_the_duckdb_enrich(
    workdir: Path,
    ray_local: Any,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    from textlens.cli import main

    source = str(workdir / "reviews.parquet")
    started = time.monotonic()
    assert main(enrich_args(workdir, workdir / "duckdb.parquet", "--table", source)) == 0
    duckdb_seconds = time.monotonic() - started
    ray_run = ["--table", source, "--ray", "--ray-actors", "2", "--ray-cpus", "0.5"]
    started = time.monotonic()
    ray_args = [
        *enrich_args(workdir, workdir / "ray.parquet", *ray_run),
        "--ray-batch-rows",
        "2500",
    ]
    assert main(ray_args) == 0
    ray_seconds = time.monotonic() - started
    assert "on Ray (2 actors" in capsys.readouterr().err
    ray_local.memory.sample()
    actors = ray_local.memory.pids_named("EnrichBatches")
    assert len(actors) >= 2, f"the rows went to {len(actors)} actor process(es), not 2"
    say(
        request.config,
        f"\nray: enrich of {ROWS} rows: DuckDB {duckdb_seconds:.1f}s, Ray Data with "
        f"{len(actors)} actors {ray_seconds:.1f}s (actor start-up included)",
    )

    duck, on_ray = read(workdir / "duckdb.parquet"), read(workdir / "ray.parquet")
    assert schema(workdir / "ray.parquet") == schema(workdir / "duckdb.parquet")
    assert on_ray["id"] == duck["id"] == list(range(ROWS))  # every row once, input order
    assert on_ray["text"] == duck["text"]
    assert on_ray["sentiment"] == duck["sentiment"]
    nulls = [i for i, t in enumerate(duck["text"]) if t is None]
    assert len(nulls) == len(range(0, ROWS, 97)) and all(
        on_ray["sentiment"][i] is None for i in nulls
    )
    scores = [
        (a, b)
        for a, b in zip(on_ray["sentiment_score"], duck["sentiment_score"], strict=True)
        if a is not None
    ]
    assert len(scores) == ROWS - len(nulls)
    np.testing.assert_allclose(*zip(*scores, strict=True), atol=1e-5)
    spans = lambda rows: [[(e["text"], e["label"], e["start"]) for e in r or []] for r in rows]  # noqa: E731
    assert spans(on_ray["entities"]) == spans(duck["entities"])
    vectors = [
        (a, b) for a, b in zip(on_ray["embedding"], duck["embedding"], strict=True) if a is not None
    ]
    np.testing.assert_allclose(
        np.array([a for a, _ in vectors]), np.array([b for _, b in vectors]), atol=1e-5
    )


def test_a_failed_run_writes_nothing_and_keeps_the_old_output(
    workdir: Path, ray_local: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """An actor fails (a text too long under --truncation error): exit 1, the old file
    is untouched, no temporary file is left beside it."""
    import duckdb

    from textlens.cli import main

    source = workdir / "with_a_long_text.parquet"
    duckdb.sql(
        f"""COPY (SELECT i AS id, CASE WHEN i = 3000 THEN repeat('word ', 5000) ELSE 'fine ' || i
            END AS text FROM range(4000) r(i)) TO '{source}' (FORMAT parquet)"""
    )
    out = workdir / "kept.parquet"
    out.write_bytes(b"the previous output")
    args = [*enrich_args(workdir, out, "--table", str(source), "--ray", "--ray-cpus", "0.5")]
    code = main([*args, "--truncation", "error", "--replace", "--ray-batch-rows", "1000"])
    err = capsys.readouterr().err
    assert code == 1 and "nothing was written" in err, err
    assert "too long" in err.lower() or "truncation" in err.lower(), err
    assert out.read_bytes() == b"the previous output"
    assert sorted(p.name for p in workdir.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--table", "reviews.csv"], "no Parquet file"),
        (["--table", "{dir}/reviews.parquet", "--db", "x.duckdb"], "--db does not apply"),
        (["--table", "{dir}/*.toml"], "reads Parquet only"),
    ],
)
def test_wrong_arguments_are_refused_before_ray_starts(
    workdir: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from textlens.cli import main

    args = [a.replace("{dir}", str(workdir)) for a in extra]
    assert main([*enrich_args(workdir, workdir / "never.parquet", *args), "--ray"]) == 2
    assert message in capsys.readouterr().err
    assert not (workdir / "never.parquet").exists()


def test_out_must_be_one_parquet_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from textlens.cli import main

    args = enrich_args(workdir, workdir / "out.csv", "--table", str(workdir / "reviews.parquet"))
    assert main([*args, "--ray"]) == 2
    assert "writes one .parquet file" in capsys.readouterr().err


def test_ctrl_c_stops_the_run_and_writes_nothing(workdir: Path) -> None:
    """A real SIGINT to a `textlens enrich --ray` child while its actors start: exit
    130 within seconds, `nothing was written`, no output and no temporary file left.

    The child runs its own local cluster (`--ray-address local`), so the session's
    cluster is not touched; its source is large enough not to finish first."""
    import os
    import signal
    import subprocess
    import sys

    import duckdb

    source = workdir / "large.parquet"
    duckdb.sql(
        f"""COPY (SELECT i AS id, 'review ' || i || ' is fine' AS text FROM range(400000) r(i))
            TO '{source}' (FORMAT parquet)"""
    )
    out = workdir / "interrupted.parquet"
    args = enrich_args(workdir, out, "--table", str(source), "--ray", "--ray-address", "local")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    err_path = workdir / "interrupted.stderr"
    with err_path.open("w") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "textlens.cli", *args, "--ray-actors", "1"],
            stderr=err,
            env=env,
        )
        try:
            deadline = time.monotonic() + 120
            while "Starting execution" not in err_path.read_text(errors="replace"):
                assert child.poll() is None, err_path.read_text(errors="replace")
                assert time.monotonic() < deadline, "the child never started the Ray job"
                time.sleep(0.2)
            sent = time.monotonic()
            child.send_signal(signal.SIGINT)
            code = child.wait(timeout=60)
            seconds = time.monotonic() - sent
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    text = err_path.read_text(errors="replace")
    assert code == 130, text[-3000:]
    assert "interrupted; nothing was written" in text, text[-3000:]
    assert seconds < 30, f"stopped {seconds:.1f}s after Ctrl-C"
    assert not out.exists()
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".interrupted")] == []
