"""The `duckdb+textlens` URL parameters: what goes to textlens, DuckDB and duckdb_engine."""

from __future__ import annotations

import pytest

from textlens.connectors.sqlalchemy.options import TextlensOptions, parse_bool, split_url_query


def test_split_separates_textlens_duckdb_and_engine_parameters() -> None:
    options, connect, rest = split_url_query(
        {
            "read_only": "true",
            "textlens_target": "localhost:50051",
            "textlens_timeout": "12.5",
            "textlens_prefix": "tl_",
            "textlens_models": "sentiment:fin, entities:ner2",
            "threads": "2",
        }
    )
    assert options == TextlensOptions(
        target="localhost:50051",
        timeout=12.5,
        prefix="tl_",
        models=(("sentiment", "fin"), ("entities", "ner2")),
    )
    assert connect == {"read_only": True}
    assert rest == {"threads": "2"}


def test_repeated_parameter_last_wins() -> None:
    options, _, _ = split_url_query({"textlens_target": ("a:1", "b:2")})
    assert options.target == "b:2"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"textlens_targte": "x:1"}, "unknown textlens URL parameter(s) textlens_targte"),
        ({"textlens_mode": "gpu"}, "textlens_mode must be one of auto, remote, embedded"),
        ({"textlens_timeout": "soon"}, "textlens_timeout must be seconds"),
        ({"textlens_models": "sentiment"}, "textlens_models entries are family:model"),
        ({"textlens_models": "ner:x"}, "textlens_models entries are family:model"),
        ({"read_only": "maybe"}, "read_only='maybe' is not a boolean"),
    ],
)
def test_bad_parameters_say_what_is_wrong(query: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        split_url_query(query)


@pytest.mark.parametrize(("text", "value"), [("TRUE", True), ("1", True), ("off", False)])
def test_parse_bool(text: str, value: bool) -> None:
    assert parse_bool("x", text) is value
