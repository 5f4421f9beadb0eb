"""The layers of docs/architecture.md, enforced: no module imports a layer above its own.

Every textlens module belongs to one *unit* (the longest matching prefix in UNITS);
ALLOWED says which units a unit may import. Top-level, function-local and
TYPE_CHECKING imports all count: a function-local import may make a start cheap (torch,
an optional extra), but it may not hide an edge that points up.
"""

from __future__ import annotations

import pytest

from tests.import_graph import Edge, all_edges, modules

#: Module-name prefix -> unit. The longest matching prefix wins.
UNITS: dict[str, str] = {
    "textlens.v1": "contract",
    "textlens.contract": "contract",
    "textlens.models": "contract",
    "textlens.server": "server",
    "textlens.server.settings": "config",
    "textlens.server.logs": "config",
    "textlens.server.dtypes": "config",
    "textlens.server.token_file": "config",
    "textlens.server.language": "language",
    "textlens.server.runtime": "runtime",
    "textlens.server.model_store": "runtime",
    "textlens.server.model_staging": "runtime",
    "textlens.server.inference": "inference",
    "textlens.server.training": "training",
    "textlens.server.topics": "topics",
    "textlens.server.assembly": "assembly",
    "textlens.server.embedded": "embedded-seam",
    "textlens.server.transport": "transport",
    "textlens.server.ray_serve": "ray_serve",
    "textlens.client": "client",
    "textlens.connectors": "connectors",
    "textlens.connectors.duckdb": "duckdb",
    "textlens.connectors.sqlalchemy": "sqlalchemy",
    "textlens.superset_plugin": "superset_plugin",
    # Seeded synthetic data: a leaf any layer may use, that uses no other layer.
    "textlens.samples": "samples",
    # Commands, batch jobs, demos and tooling: the top, free to import any layer.
    "textlens.cli": "tooling",
    "textlens.server.cli": "tooling",  # the deprecated path of textlens.cli, one release
    "textlens.server.demo": "tooling",
    "textlens.server.process": "tooling",
    "textlens.server.inference.benchmark": "tooling",
    "textlens.server.transport.inprocess": "tooling",
    "textlens.jobs": "tooling",
    "textlens.monitor": "tooling",
    "textlens.superset_tools": "tooling",
}

_SERVER_CORE = {"contract", "config", "language", "runtime", "server"}
#: Unit -> the units it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "contract": set(),
    "samples": set(),
    "server": {"contract"},
    "config": {"contract", "server"},
    "language": {"contract", "config", "server"},
    "runtime": {"contract", "config", "language", "server"},
    "inference": _SERVER_CORE,
    "training": _SERVER_CORE | {"inference"},
    "topics": _SERVER_CORE | {"inference", "training"},
    "assembly": _SERVER_CORE | {"inference", "training", "topics"},
    "embedded-seam": _SERVER_CORE | {"assembly"},
    "transport": _SERVER_CORE | {"assembly"},
    "ray_serve": _SERVER_CORE | {"assembly", "transport"},
    "client": {"contract"},
    "connectors": {"contract"},
    "duckdb": {"contract", "client", "connectors", "embedded-seam"},
    "sqlalchemy": {"contract", "client", "connectors", "duckdb"},
    "superset_plugin": {"contract", "client", "connectors", "duckdb", "sqlalchemy"},
    "tooling": set(UNITS.values()),
}


def unit_of(module: str) -> str:
    best = max((p for p in UNITS if module == p or module.startswith(p + ".")), key=len)
    return UNITS[best]


def back_edges(edges: list[Edge]) -> list[Edge]:
    wrong = []
    for edge in edges:
        source, target = unit_of(edge.source), unit_of(edge.target)
        if target not in {source} | ALLOWED[source]:
            wrong.append(edge)
    return wrong


def _shown(edges: list[Edge]) -> str:
    return "\n".join(
        f"  {e.path}:{e.line} ({e.kind}) {e.source} [{unit_of(e.source)}] -> "
        f"{e.target} [{unit_of(e.target)}]"
        for e in edges
    )


def test_every_module_has_a_unit_and_every_unit_a_rule() -> None:
    for name in modules():
        assert unit_of(name) in ALLOWED, name
    assert set(UNITS.values()) <= set(ALLOWED)


def test_no_module_imports_a_layer_above_its_own() -> None:
    wrong = back_edges(all_edges())
    assert not wrong, "imports against the layers (docs/architecture.md):\n" + _shown(wrong)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("textlens.server.runtime.batcher", "textlens.server.inference.selection"),
        ("textlens.client.sync", "textlens.server.runtime.analyzer"),
        ("textlens.contract.errors", "textlens.client"),
        ("textlens.connectors.duckdb.cached_compute", "textlens.server.runtime.registry"),
        ("textlens.server.runtime.loading", "textlens.server.topics.network"),
    ],
)
@pytest.mark.parametrize("kind", ["top", "local", "typing"])
def test_an_added_back_edge_fails(source: str, target: str, kind: str) -> None:
    """The check is not vacuous: one more upward import, of any kind, is caught."""
    injected = Edge(source, target, "injected.py", 1, kind)
    assert back_edges([injected]) == [injected]
