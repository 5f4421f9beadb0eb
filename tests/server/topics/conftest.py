"""Generated headlines on four known topics, and one topic model fitted on them per session.

Each topic has its own templates and a shared pool of company names, so the
words that separate topics are the topic's (profit, lawsuit, launch, layoffs)
and not the companies': a fit that clusters by company fails the purity test.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.topics.helpers import known_topic_rows, write_news


@pytest.fixture(scope="session")
def topics_fitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`textlens topics fit --topics 4` on 600 headlines into a fresh registry."""
    from textlens.cli import main

    root = tmp_path_factory.mktemp("topics")
    db, registry = root / "warehouse.duckdb", root / "registry"
    rows = known_topic_rows(600)
    write_news(db, rows)
    argv = [
        "topics", "fit", "--db", str(db), "--query", "SELECT id, body AS text FROM news",
        "--register", "news-topics", "--registry", str(registry), "--topics", "4",
        "--seed", "7", "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    return {"db": db, "registry": registry, "rows": rows, "argv": argv, "root": root}
