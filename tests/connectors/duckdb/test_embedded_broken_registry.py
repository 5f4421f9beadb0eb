"""Embedded mode over a registry with a broken current version (issue 22, item 7).

`textlens serve` now serves each registered model from its first version that
loads; embedded DuckDB read the same registry through another path and still
failed as a whole ("incomplete metadata") when CURRENT named a half-copied
version. Real DuckDB, the real registry layout, tiny models made here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("torch", reason="embedded mode needs the `models` extra")

from tests.helpers import TOPIC_TEXTS, publish_broken_version, publish_tiny_topics


def test_embedded_falls_back_past_a_broken_registered_version(
    tmp_path: Path, tiny_models_dir: dict[str, Path]
) -> None:
    import duckdb

    from textlens.connectors.duckdb import register

    registry = tmp_path / "registry"
    publish_tiny_topics(registry, tiny_models_dir["tiny-encoder"], ("alpha", "beta"))
    assert publish_broken_version(registry, "topics", registry / "topics" / "v1") == "v2"
    config = tmp_path / "textlens.toml"
    config.write_text(
        f'[server]\nregistry = "{registry}"\nthreads = 1\n\n'
        f'[[models]]\nname = "tiny-sentiment"\ntask = "sentiment"\n'
        f'source = "{tiny_models_dir["tiny-sequence"]}"\ndevice = "cpu"\nbackend = "torch"\n',
        encoding="utf-8",
    )
    con = duckdb.connect()
    with register(con, mode="embedded", config=str(config)):
        con.execute("CREATE TABLE t(x VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?)", [[t] for t in TOPIC_TEXTS])
        labels = {r[0] for r in con.execute("SELECT classify(x, 'topics') FROM t").fetchall()}
        assert labels and labels <= {"alpha", "beta"}
        assert con.execute("SELECT sentiment('fine')").fetchone()[0] is not None
