"""Every SQL and Python example in README.md and docs/ runs, so the docs cannot drift.

Each Markdown file is one session, run in order, in a fresh directory holding:

* `warehouse.duckdb`, the demo warehouse `textlens demo-data` writes (`reviews`, `news`,
  `pairs`: textlens.samples.warehouse), smaller;
* a real textlens server over the default models at the address the docs use for a
  local server (`localhost:50051` / `127.0.0.1:50051` are rewritten to its port).

```python``` blocks share one namespace per file; a `<!-- fresh session -->` line starts a
new one (the previous session's DuckDB connections are closed), as separate quickstarts
would run in separate processes. ```sql``` blocks run on the file's `con`
when a Python block made one, else on a connection to `warehouse.duckdb` registered
against the server. A statement followed by `-- → VALUE` lines must return that value
(one column; one line per row; maps and lists as DuckDB prints them).

Fences must name their language: `sh` (commands, not run), `text` (output, pictures),
`toml`, `sql`, `python`. An unlabelled fence could hide an example that never runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
RUN = {"python", "sql"}
SHOWN = {"sh", "text", "toml", "yaml", "json", "proto", "ini"}
LOCAL_SERVER = re.compile(r"\b(?:localhost|127\.0\.0\.1):50051\b")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
EXPECT = "-- → "
SESSION = "<!-- fresh session -->"


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").split("\n")
    found, i = [], 0
    while i < len(lines):
        if lines[i].strip() == SESSION:
            found.append(Block(path, i + 1, "session", ""))
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, lang = match.groups()
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        body = [line.removeprefix(indent) for line in lines[i + 1 : j]]
        found.append(Block(path, i + 1, lang, "\n".join(body) + "\n"))
        i = j + 1
    return found


def statements(sql: str) -> Iterator[tuple[str, list[str]]]:
    """(statement, the `-- → ` lines right after it) for each statement of a block."""
    current: list[str] = []
    pending: tuple[str, list[str]] | None = None
    for line in sql.splitlines():
        if pending is not None:
            if line.startswith(EXPECT):
                pending[1].append(line.removeprefix(EXPECT).strip())
                continue
            yield pending
            pending = None
        current.append(line)
        if line.split("--", 1)[0].rstrip().endswith(";"):
            pending = ("\n".join(current), [])
            current = []
    if pending is not None:
        yield pending
    if "\n".join(current).strip():
        yield "\n".join(current), []


def shown(value: Any) -> str:
    """A value as DuckDB's own renderer writes it (maps `{k=v}`, lists `[a, b]`)."""
    if value is None:
        return "NULL"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{shown(k)}={shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


def test_every_fence_names_its_language() -> None:
    unnamed = [
        b.where for path in DOCS for b in blocks(path) if b.lang not in RUN | SHOWN | {"session"}
    ]
    assert not unnamed, f"fences without a known language (sh, text, sql, python, ...): {unnamed}"


def test_the_helpers_read_what_the_docs_write() -> None:
    sql = "SELECT 1;\n-- → 1\n-- not a result\nSELECT 2\n  ;\nSELECT 3"
    assert list(statements(sql)) == [
        ("SELECT 1;", ["1"]),
        ("-- not a result\nSELECT 2\n  ;", []),
        ("SELECT 3", []),
    ]
    assert shown({"Tesla": "positive", "price": None}) == "{Tesla=positive, price=NULL}"


@pytest.fixture(scope="module")
def docs_server(default_served: list[Any]) -> Iterator[str]:
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    server = InProcessServer(rebatch(default_served))
    yield server.target
    server.stop()


def _warehouse(directory: Path) -> Path:
    """The demo warehouse `textlens demo-data` writes, smaller (the examples do not care)."""
    from textlens.samples.warehouse import create_demo_warehouse

    path = directory / "warehouse.duckdb"
    create_demo_warehouse(path, reviews=120, news=120)
    return path


def _run_sql(block: Block, con: Any) -> None:
    for statement, expected in statements(block.code):
        if not statement.strip().strip(";").strip():
            continue
        try:
            rows = con.execute(statement).fetchall()
        except Exception as exc:
            raise AssertionError(f"{block.where}: {statement!r} failed: {exc}") from exc
        if expected:
            got = [shown(row[0]) for row in rows]
            assert got == expected, f"{block.where}: {statement!r} returned {got}"


RUNNABLE = [p for p in DOCS if any(b.lang in RUN for b in blocks(p))]


@pytest.mark.parametrize("doc", RUNNABLE, ids=[str(p.relative_to(REPO)) for p in RUNNABLE])
def test_the_examples_of_a_doc_run(
    doc: Path, docs_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    from textlens.connectors.duckdb import register

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TEXTLENS_TARGET", raising=False)
    warehouse = _warehouse(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    fallback: Any = None
    try:
        for block in blocks(doc):
            if block.lang == "session":
                _close(namespace, fallback)
                namespace, fallback = {"__name__": "__main__"}, None
                continue
            if block.lang not in RUN:
                continue
            code = LOCAL_SERVER.sub(docs_server, block.code)
            if block.lang == "python":
                try:
                    exec(compile(code, block.where, "exec"), namespace)
                except Exception as exc:
                    raise AssertionError(f"{block.where} failed: {exc!r}") from exc
                continue
            con = namespace.get("con")
            if not isinstance(con, duckdb.DuckDBPyConnection):
                if fallback is None:
                    fallback = duckdb.connect(str(warehouse))
                    register(fallback, docs_server)
                con = fallback
            _run_sql(Block(block.path, block.line, block.lang, code), con)
    finally:
        _close(namespace, fallback)


def _close(namespace: dict[str, Any], fallback: Any) -> None:
    """Close what a session opened on `warehouse.duckdb` (connections, SQLAlchemy engines)."""
    import duckdb

    for value in [*namespace.values(), fallback]:
        if isinstance(value, duckdb.DuckDBPyConnection):
            value.close()
        elif hasattr(value, "dispose") and callable(value.dispose):
            value.dispose()


def test_the_readme_is_an_entry_point_not_a_manual() -> None:
    """About 300 lines at most: what textlens is, installs, quickstarts, links into docs/."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", readme))
    assert linked, "the README links into docs/"
    for page in linked:
        assert (REPO / page).is_file(), page
    unlinked = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")} - linked
    assert not unlinked, f"docs pages the README does not link: {sorted(unlinked)}"


def test_links_between_pages_point_at_pages_that_exist() -> None:
    broken = []
    for path in DOCS:
        for target in re.findall(
            r"\]\(([^)#:\s]+\.(?:md|png))(?:#[^)]*)?\)", path.read_text("utf-8")
        ):
            if not (path.parent / target).is_file():
                broken.append(f"{path.relative_to(REPO)} -> {target}")
    assert not broken, broken


def test_the_grpcurl_answers_in_the_docs_use_the_protos_field_names() -> None:
    """grpcurl over reflection prints proto field names; a shown key that is not one
    (`modelVersion` was) is a transcript nobody could have seen."""
    proto = (REPO / "proto" / "textlens" / "v1" / "textlens.proto").read_text("utf-8")
    fields = set(
        re.findall(r"^\s*(?:repeated\s+|optional\s+)?[\w.<>, ]+\s+(\w+)\s*=\s*\d+;", proto, re.M)
    )
    shown = set()
    for path in DOCS:
        for block in blocks(path):
            if "grpcurl" in block.code and block.lang == "text":
                answer = block.code.split("\n{", 1)[-1] if "\n{" in block.code else ""
                shown |= set(re.findall(r'"(\w+)":', answer))
    assert shown, "no grpcurl answer found in the docs"
    assert shown <= fields, f"keys grpcurl would not print: {sorted(shown - fields)}"
