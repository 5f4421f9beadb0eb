"""A fitted topic model served like any other: Classify RPC, remote SQL, hot reload."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

NEW_TEXTS = [
    "Globex quarterly profit jumps on strong cloud sales",
    "Regulators sue Initech over hidden fees",
    "Hooli cuts 500 jobs at its Dublin office",
    "Wonka launches a new chocolate-powered scooter",
    "The weather in Lisbon was sunny today",
]


def test_served_remotely_identically_and_hot_reloaded(
    topics_fitted: dict[str, Any], tmp_path: Path
) -> None:
    import duckdb

    from textlens.cli import main
    from textlens.client import Client
    from textlens.connectors.duckdb import register
    from textlens.server.process import ServerProcess

    registry = tmp_path / "registry"
    shutil.copytree(topics_fitted["registry"], registry)
    config = tmp_path / "serve.toml"
    config.write_text(
        f'[server]\nregistry = "{registry}"\nadmin_token = "t0ken"\n\n'
        '[[models]]\nname = "minilm"\ntask = "embed"\nsource = "builtin:minilm"\n'
    )
    embedded = duckdb.connect()
    with register(embedded, mode="embedded", config=config):
        local = embedded.execute(
            "SELECT classify(t, 'news-topics'), classify_scores(t, 'news-topics') "
            "FROM unnest(?::VARCHAR[]) AS u(t)",
            [NEW_TEXTS],
        ).fetchall()
    labels = json.loads((registry / "news-topics" / "v1" / "report.json").read_text())["labels"]
    with ServerProcess(config) as server, Client(server.target) as client:
        infos = {i.name: i for i in client.list_models()}
        assert infos["news-topics"].task == "classify"
        assert infos["news-topics"].labels == labels
        rpc = client.classify(NEW_TEXTS, model="news-topics")
        con = duckdb.connect()
        with register(con, server.target):
            remote = con.execute(
                "SELECT classify(t, 'news-topics'), classify_scores(t, 'news-topics') "
                "FROM unnest(?::VARCHAR[]) AS u(t)",
                [NEW_TEXTS],
            ).fetchall()
        # Another process, the same assignments (and scores to float32 precision).
        assert [r[0] for r in remote] == [r[0] for r in local] == [r.label for r in rpc]
        for (_, a), (_, b) in zip(remote, local, strict=True):
            assert a.keys() == b.keys() == set(labels)
            assert all(abs(a[k] - b[k]) < 1e-4 for k in a)
            assert abs(sum(a.values()) - 1) < 1e-4
        by_text = dict(zip(NEW_TEXTS, [r.label for r in rpc], strict=True))
        assert "profit" in by_text[NEW_TEXTS[0]] or "earnings" in by_text[NEW_TEXTS[0]]
        assert by_text[NEW_TEXTS[4]] == "outlier"
        # Refit with three topics into the served registry; a reload serves v2 at once.
        argv = list(topics_fitted["argv"])
        argv[argv.index("--registry") + 1] = str(registry)
        argv[argv.index("--topics") + 1] = "3"
        assert main(argv) == 0
        outcomes = client.reload_models(["news-topics"], token="t0ken")
        assert [(o.name, o.changed) for o in outcomes] == [("news-topics", True)]
        assert outcomes[0].version != infos["news-topics"].version
        again = client.classify(NEW_TEXTS[:1], model="news-topics")[0]
        assert len(again.scores) == 4  # three topics + outlier
