"""The SQL functions: names, argument lists, DuckDB types and arrow output builders.

Each public function is a DuckDB macro with overloads (DuckDB has no Python UDF
overloading) over one private arrow UDF that takes every option explicitly:

    sentiment(text)               -> _textlens_sentiment_<token>(text, '<default model>')
    sentiment(text, model)        -> _textlens_sentiment_<token>(text, model)
    classify(text, labels)        -> _textlens_classify_<token>(text, labels, '', '')
    classify(text, 'my-model')    -> _textlens_classify_<token>(text, [], 'my-model', '')
    classify(text, labels, model[, hypothesis_template])

Builders turn the results of a chunk's distinct items into one arrow array of
the function's return type; the UDF layer then `take`s it into row order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from textlens.connectors.duckdb.targets import AspectMap, EntitySentiments
from textlens.contract.results import (
    ClassifyResult,
    Entity,
    LanguageResult,
    NotScored,
    SentimentResult,
)

ENTITY_STRUCT = pa.struct(
    [
        ("text", pa.string()),
        ("label", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("score", pa.float64()),
    ]
)
ENTITY_LIST = pa.list_(ENTITY_STRUCT)
SCORE_MAP = pa.map_(pa.string(), pa.float64())
LABEL_MAP = pa.map_(pa.string(), pa.string())
ENTITY_SENTIMENT_LIST = pa.list_(
    pa.struct(
        [
            *ENTITY_STRUCT,
            ("sentiment", pa.string()),
            ("sentiment_score", pa.float64()),
        ]
    )
)

ENTITY_SQL = 'STRUCT(text VARCHAR, label VARCHAR, start INTEGER, "end" INTEGER, score DOUBLE)[]'
ENTITY_SENTIMENT_SQL = (
    'STRUCT(text VARCHAR, label VARCHAR, start INTEGER, "end" INTEGER, score DOUBLE, '
    "sentiment VARCHAR, sentiment_score DOUBLE)[]"
)
SCORE_MAP_SQL = "MAP(VARCHAR, DOUBLE)"
LABEL_MAP_SQL = "MAP(VARCHAR, VARCHAR)"
#: The UDF's arguments after the text, per task.
OPTIONS = {
    "classify": ("labels", "model", "hypothesis_template"),
    "aspect": ("aspects", "model"),
    "entity_sentiment": ("entities_model", "model"),
    "language": (),  # one detector, no model to choose
}
OPTION_TYPES = {
    "labels": "VARCHAR[]",
    "aspects": "VARCHAR[]",
    "model": "VARCHAR",
    "entities_model": "VARCHAR",
    "hypothesis_template": "VARCHAR",
}

Builder = Callable[[list[Any]], pa.Array]


def _languages(values: list[LanguageResult]) -> pa.Array:
    return pa.array([v.language for v in values], type=pa.string())


# A `NotScored` result (the model was not asked: the text's language) is NULL in
# every function, like a NULL text: a missing answer, never a default label or 0.


def _labels(values: list[Any]) -> pa.Array:
    return pa.array(
        [None if isinstance(v, NotScored) else v.label for v in values], type=pa.string()
    )


def _scores(values: list[SentimentResult | NotScored]) -> pa.Array:
    return pa.array(
        [None if isinstance(v, NotScored) else v.score for v in values], type=pa.float64()
    )


def _probabilities(values: list[SentimentResult | NotScored]) -> pa.Array:
    return pa.array(
        [None if isinstance(v, NotScored) else list(v.probabilities.items()) for v in values],
        type=SCORE_MAP,
    )


def _class_scores(values: list[ClassifyResult]) -> pa.Array:
    return pa.array([list(v.scores.items()) for v in values], type=SCORE_MAP)


def _entities(values: list[list[Entity] | NotScored]) -> pa.Array:
    return pa.array(
        [
            None
            if isinstance(spans, NotScored)
            else [
                {"text": e.text, "label": e.label, "start": e.start, "end": e.end, "score": e.score}
                for e in spans
            ]
            for spans in values
        ],
        type=ENTITY_LIST,
    )


def _refused(answers: AspectMap) -> bool:
    """A text the aspect model was not asked about (its language): the whole map is NULL."""
    return any(isinstance(r, NotScored) for r in answers.values())


def _aspect_labels(values: list[AspectMap]) -> pa.Array:
    return pa.array(
        [
            None
            if _refused(v)
            else [(k, r.label if isinstance(r, SentimentResult) else None) for k, r in v.items()]
            for v in values
        ],
        type=LABEL_MAP,
    )


def _aspect_scores(values: list[AspectMap]) -> pa.Array:
    return pa.array(
        [
            None
            if _refused(v)
            else [(k, r.score if isinstance(r, SentimentResult) else None) for k, r in v.items()]
            for v in values
        ],
        type=SCORE_MAP,
    )


def _entity_sentiments(values: list[EntitySentiments | NotScored]) -> pa.Array:
    return pa.array(
        [
            None
            if isinstance(spans, NotScored)
            else [
                {
                    "text": e.text,
                    "label": e.label,
                    "start": e.start,
                    "end": e.end,
                    "score": e.score,
                    "sentiment": r.label if isinstance(r, SentimentResult) else None,
                    "sentiment_score": r.score if isinstance(r, SentimentResult) else None,
                }
                for e, r in spans
            ]
            for spans in values
        ],
        type=ENTITY_SENTIMENT_LIST,
    )


def vectors_builder(dim: int) -> Builder:
    """FLOAT[dim] (a fixed-size list) from float32 vectors of length `dim`."""

    def build(values: list[np.ndarray]) -> pa.Array:
        matrix = np.stack(values) if values else np.zeros((0, dim), dtype=np.float32)
        flat = pa.array(np.ascontiguousarray(matrix, dtype=np.float32).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, dim)

    return build


@dataclass(frozen=True)
class SqlFunction:
    """One public SQL function and the private UDF behind it."""

    name: str
    #: The computation it shares with other functions (and the cache): sentiment,
    #: entities, embed or classify.
    task: str
    return_type: str
    build: Builder
    summary: str

    @property
    def options(self) -> tuple[str, ...]:
        """The UDF's arguments after the text."""
        return OPTIONS.get(self.task, ("model",))

    @property
    def parameter_types(self) -> list[str]:
        return ["VARCHAR", *(OPTION_TYPES[o] for o in self.options)]


def sql_functions(embed_dim: int | None) -> list[SqlFunction]:
    """Every function, `embed` only when an embedding model is served (its type needs the dim)."""
    out = [
        SqlFunction("sentiment", "sentiment", "VARCHAR", _labels, "top sentiment label"),
        SqlFunction(
            "sentiment_score",
            "sentiment",
            "DOUBLE",
            _scores,
            "P(positive) - P(negative) in [-1, 1] (top probability for non-polarity models)",
        ),
        SqlFunction(
            "sentiment_probs", "sentiment", SCORE_MAP_SQL, _probabilities, "probability by label"
        ),
        SqlFunction(
            "aspect_sentiment",
            "aspect",
            LABEL_MAP_SQL,
            _aspect_labels,
            "aspect -> positive/neutral/negative toward it (NULL: not mentioned)",
        ),
        SqlFunction(
            "aspect_sentiment_scores",
            "aspect",
            SCORE_MAP_SQL,
            _aspect_scores,
            "aspect -> P(positive) - P(negative) toward it (NULL: not mentioned)",
        ),
        SqlFunction("entities", "entities", ENTITY_SQL, _entities, "named-entity spans"),
        SqlFunction(
            "entity_sentiment",
            "entity_sentiment",
            ENTITY_SENTIMENT_SQL,
            _entity_sentiments,
            "named-entity spans with the sentiment toward each",
        ),
        SqlFunction("classify", "classify", "VARCHAR", _labels, "top label (zero-shot)"),
        SqlFunction(
            "classify_scores", "classify", SCORE_MAP_SQL, _class_scores, "score of every label"
        ),
        SqlFunction(
            "language",
            "language",
            "VARCHAR",
            _languages,
            "ISO 639 code of the text's language ('und': too few letters to tell)",
        ),
    ]
    if embed_dim:
        out.append(
            SqlFunction(
                "embed",
                "embed",
                f"FLOAT[{embed_dim}]",
                vectors_builder(embed_dim),
                f"unit-length {embed_dim}-dim embedding",
            )
        )
    return out


def quote_literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


#: The `register(models=...)` key whose model a function family uses by default.
MODEL_KEY = {"entity_sentiment": "aspect"}


def macro_sql(fn: SqlFunction, public: str, private: str, models: Mapping[str, str]) -> str:
    """CREATE TEMP MACRO with the function's overloads (temp: never stored in a database file)."""
    model = quote_literal(models.get(MODEL_KEY.get(fn.task, fn.task), ""))
    # No parameter is typed: DuckDB 2.0 fails with "unordered_map::at" when a
    # macro with typed parameters is called in a lateral join
    # (`FROM reviews, unnest(entities(review))`). classify's two-argument form
    # tells a label list from a model name by the argument's type at run time.
    if fn.task == "classify":
        is_name = "typeof(labels_or_model) = 'VARCHAR'"
        overloads = [
            f"(text, labels_or_model) AS {private}(text, "
            f"CASE WHEN {is_name} THEN []::VARCHAR[] "
            f"ELSE TRY_CAST(labels_or_model AS VARCHAR[]) END, "
            f"CASE WHEN {is_name} THEN labels_or_model::VARCHAR ELSE {model} END, '')",
            f"(text, labels, model) AS {private}(text, labels, model, '')",
            f"(text, labels, model, hypothesis_template) AS "
            f"{private}(text, labels, model, hypothesis_template)",
        ]
    elif fn.task == "aspect":
        overloads = [
            f"(text, aspects) AS {private}(text, aspects, {model})",
            f"(text, aspects, model) AS {private}(text, aspects, model)",
        ]
    elif fn.task == "language":
        overloads = [f"(text) AS {private}(text)"]
    elif fn.task == "entity_sentiment":
        entities = quote_literal(models.get("entities", ""))
        overloads = [
            f"(text) AS {private}(text, {entities}, {model})",
            f"(text, model) AS {private}(text, {entities}, model)",
        ]
    else:
        overloads = [
            f"(text) AS {private}(text, {model})",
            f"(text, model) AS {private}(text, model)",
        ]
    return f"CREATE OR REPLACE TEMP MACRO {public}{', '.join(overloads)}"
