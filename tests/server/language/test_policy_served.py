"""The language policy through gRPC (real in-process server on 127.0.0.1, default models).

The default models read English only: a German or Chinese headline is answered
"not scored" with the detected language and confidence, never a label; English
finance text with cashtags, tickers and numbers is scored; `other_languages =
"score"` scores everything again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from textlens.client import Client, NotScored, SentimentResult
from textlens.server.language.detector import RELIABLE_CONFIDENCE
from textlens.v1 import textlens_pb2 as pb
from textlens.v1 import textlens_pb2_grpc as pb_grpc

GERMAN = "Siemens-Aktie bricht nach enttäuschender Prognose um zwölf Prozent ein"
CHINESE = "阿里巴巴股价大跌，投资者担心监管风险"
FINANCE = "$TSLA up 4.2% after Q3 beat, PT $300"
ENGLISH = "Siemens shares slump twelve percent after a disappointing forecast"
TEXTS: list[str | None] = [GERMAN, FINANCE, None, CHINESE, ENGLISH]


def refused(answer: Any, language: str) -> bool:
    return (
        isinstance(answer, NotScored)
        and answer.reason == "language"
        and answer.language == language
        and RELIABLE_CONFIDENCE <= answer.confidence <= 1.0
    )


def test_other_languages_are_not_scored_with_the_reason(
    inprocess_server: Callable[..., Any],
) -> None:
    server = inprocess_server()
    with Client(server.target, timeout=60) as client:
        sentiments = client.sentiment(TEXTS)
        toward = client.aspect_sentiment(
            [GERMAN, FINANCE, CHINESE, ENGLISH], ["Siemens", "TSLA", "阿里巴巴", "Siemens"]
        )
        spans = client.entities(TEXTS)
        infos = {i.name: i for i in client.list_models()}
    assert refused(sentiments[0], "de") and refused(sentiments[3], "zh"), sentiments
    assert isinstance(sentiments[1], SentimentResult) and sentiments[1].label
    assert sentiments[2] is None and isinstance(sentiments[4], SentimentResult)
    assert refused(toward[0], "de"), toward
    assert isinstance(toward[1], SentimentResult) and isinstance(toward[3], SentimentResult)
    # Refused whether or not the target is "mentioned" (Chinese has no word boundaries).
    assert refused(toward[2], "zh"), toward
    assert refused(spans[0], "de") and refused(spans[3], "zh"), spans
    assert isinstance(spans[1], list) and isinstance(spans[4], list)
    for name in ("sentiment-minilm", "aspect-minilm", "ner-minilm"):
        assert infos[name].languages == ["en"] and infos[name].other_languages == "null"


def test_raw_results_carry_not_scored(inprocess_server: Callable[..., Any]) -> None:
    """A backend engineer's view: HasField('not_scored') tells a refusal from a label."""
    server = inprocess_server()
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        answer = stub.Sentiment(pb.SentimentRequest(texts=[GERMAN, FINANCE]), timeout=60)
        models = stub.ListModels(pb.ListModelsRequest(), timeout=60)
    german, finance = answer.results
    assert german.HasField("not_scored") and german.label == "" and not german.probabilities
    assert german.not_scored.reason == "language" and german.not_scored.language == "de"
    assert not finance.HasField("not_scored") and finance.label
    sentiment = next(m for m in models.models if m.name == "sentiment-minilm")
    assert list(sentiment.languages) == ["en"] and sentiment.other_languages == "null"


def test_other_languages_score_scores_them(inprocess_server: Callable[..., Any]) -> None:
    server = inprocess_server({"other_languages": "score"})
    with Client(inprocess_server().target, timeout=60) as client:  # the default: refused
        assert all(isinstance(s, NotScored) for s in client.sentiment([GERMAN, CHINESE]))
    with Client(server.target, timeout=60) as client:
        sentiments = client.sentiment([GERMAN, CHINESE])
        spans = client.entities([GERMAN, CHINESE])
        toward = client.aspect_sentiment([GERMAN], ["Siemens"])
    assert all(isinstance(s, SentimentResult) for s in sentiments), sentiments
    assert all(isinstance(s, list) for s in spans), spans
    assert isinstance(toward[0], SentimentResult)


def test_declared_languages_read_them(inprocess_server: Callable[..., Any]) -> None:
    """`languages = ["en", "de"]`: German is scored, Chinese still is not."""
    server = inprocess_server({"languages": ["en", "de"]})
    with Client(server.target, timeout=60) as client:
        sentiments = client.sentiment([GERMAN, CHINESE])
    assert isinstance(sentiments[0], SentimentResult) and refused(sentiments[1], "zh")
