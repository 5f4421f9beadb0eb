"""Fuzzing a real server: hostile texts through the client, hostile requests on the wire.

Three levels, each against an in-process gRPC server over the default models:

* texts: arbitrary Unicode, empty strings, None, lone surrogates, very long
  words, combining marks, emoji sequences, RTL scripts, NUL, characters whose
  case or NFKC form changes length, sent through `textlens.client.Client` to
  every data RPC; the result invariants of the README hold for each;
* requests: random field values (unknown enum numbers, wrong or other-task
  model names, bad label lists, mismatched aspect lists) sent as messages; a
  small oracle says which must be refused with INVALID_ARGUMENT and which
  must succeed;
* bytes: random and hand-broken protobuf (invalid UTF-8, bad wire types,
  truncated fields) through a raw channel with no serializer; whatever parses
  locally is judged by the same oracle, the rest must be INVALID_ARGUMENT.

No answer may ever be INTERNAL or UNKNOWN. Every test prints how many inputs
it tried. The default variant is bounded by examples and by seconds; the slow
one (`TEXTLENS_FUZZ_EXAMPLES`, `TEXTLENS_FUZZ_SECONDS`) tries many more.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("torch", reason="the fuzzed server runs the default models")
pytest.importorskip("hypothesis", reason="the fuzz tests need hypothesis (the dev extra)")

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textlens.client import Client, NotScored
from textlens.client.errors import InvalidInput, TextlensError

from ._oracle import (
    ADMIN_TOKEN,
    METHODS,
    RawAnswer,
    call_raw,
    check_answer,
    expected_codes,
    request_strategy,
)
from .helpers import env_float, env_int, report

pytestmark = pytest.mark.reliability

SURROGATE = re.compile("[\ud800-\udfff]")
WORDS = [
    "Angela", "Merkel", "visited", "Siemens", "in", "Berlin", ".", "Tesla", "shares", "jump",
    "while", "Ford", "slips", "the", "battery", "is", "great", "but", "screen", "terrible", "I",
    "love", "it", ",", "!",
]  # fmt: skip
SEPARATORS = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u200b", "\u200d", "\u2028", "\x00", ""]
#: Pieces that break naive offset code: case or NFKC changes length (İ, ß, ﬁ, 𝐀),
#: combining marks, ZWJ emoji, flags, RTL, BOM, replacement character, NUL.
ODD = [
    "İstanbul", "STRAẞE", "straße", "ﬁnance", "𝐀𝐧𝐠𝐞𝐥𝐚", "Ａｎｇｅｌａ", "e\u0301\u0301", "\u0301",
    "👍🏽", "👨‍👩‍👧", "🇩🇪", "😀" * 3, "שלום", "مرحبا بالعالم", "\u202eevil\u202c",
    "\ufeff", "\ufffd", "\x00", "東京", "Ⅻ", "½", "ǅ", "\U0010ffff",
]  # fmt: skip
PIECE = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(ODD),
    st.text(max_size=12),
    st.text(alphabet=st.characters(categories=["Mn", "Me"]), max_size=4),
)
STRUCTURED = st.lists(st.tuples(PIECE, st.sampled_from(SEPARATORS)), max_size=30).map(
    lambda parts: "".join(a + b for a, b in parts)
)
LONG_WORD = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["a", "é", "😀", "Berlin", "x\u0301", "İ", "\x00"]),
    st.integers(200, 3000),
)
#: Surrogate-free text: what a protobuf string field can carry.
WIRE_TEXT = st.one_of(st.just(""), st.text(max_size=200), STRUCTURED, LONG_WORD)
#: What a Python caller can pass: also lone surrogates (the client replaces them).
CLIENT_TEXT = st.one_of(
    WIRE_TEXT,
    st.tuples(STRUCTURED, st.characters(categories=["Cs"]), STRUCTURED).map("".join),
)
LABEL = st.one_of(st.sampled_from(["sports", "finance", "politics", "tech"]), st.text(max_size=30))
SLOW = pytest.mark.slow


@dataclass
class Tally:
    """What one fuzz test tried, and a time bound on starting new examples.

    Past `seconds`, new examples are skipped, except once one has failed:
    hypothesis then replays and shrinks it, and a skipped replay would look flaky.
    """

    name: str
    seconds: float
    texts: int = 0
    requests: int = 0
    skipped: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    failed: bool = False
    started: float = field(default_factory=time.monotonic)

    def run(self, check: Callable[[], None]) -> None:
        if not self.failed and time.monotonic() - self.started > self.seconds:
            self.skipped += 1
            return
        try:
            check()
        except BaseException:
            self.failed = True
            raise

    def line(self) -> str:
        internal = self.codes["INTERNAL"] + self.codes["UNKNOWN"]
        codes = ", ".join(f"{k} {v}" for k, v in sorted(self.codes.items()))
        return (
            f"fuzz {self.name} tried {self.texts} texts, {self.requests} requests, "
            f"{internal} INTERNAL ({codes}; {time.monotonic() - self.started:.1f}s"
            f"{f', {self.skipped} skipped past the time bound' if self.skipped else ''})"
        )


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def cleaned(text: str) -> str:
    """What the server sees of a Python text: each lone surrogate becomes one U+FFFD."""
    return SURROGATE.sub("\ufffd", text)


def assert_distribution(probabilities: dict[str, float], labels: Sequence[str]) -> None:
    assert set(probabilities) == set(labels), (probabilities, labels)
    assert all(0.0 <= p <= 1.0 and math.isfinite(p) for p in probabilities.values())
    assert abs(sum(probabilities.values()) - 1.0) < 1e-3, probabilities


def client_call(tally: Tally, call: Callable[[], Any], *, may_refuse: bool = False) -> Any:
    """One client call: a textlens error is a failure unless `may_refuse` and InvalidInput."""
    tally.requests += 1
    try:
        out = call()
    except TextlensError as exc:
        code = "INTERNAL" if "INTERNAL" in str(exc) else type(exc).__name__
        tally.codes[code] += 1
        if may_refuse and isinstance(exc, InvalidInput):
            return None
        raise AssertionError(f"{type(exc).__name__}: {exc}") from exc
    tally.codes["OK"] += 1
    return out


def assert_not_scored(result: NotScored) -> None:
    """The default models read English: only a reliable other language is refused."""
    from textlens.server.language.detector import RELIABLE_CONFIDENCE

    assert result.reason == "language" and result.language not in ("en", "und"), result
    assert RELIABLE_CONFIDENCE - 1e-6 <= result.confidence <= 1.0, result


def check_texts(
    c: Client, labels: dict[str, list[str]], texts: list[str | None], data: Any, tally: Tally
) -> None:
    """Every data RPC on `texts`; the README's invariants on every answer."""
    tally.texts += len(texts)
    n = len(texts)

    sentiments = client_call(tally, lambda: c.sentiment(texts))
    assert len(sentiments) == n
    for text, result in zip(texts, sentiments, strict=True):
        assert (result is None) == (text is None)
        if isinstance(result, NotScored) and result.reason == "empty":  # no text, no opinion
            assert text is not None and not cleaned(text).strip(), (text, result)
            assert (result.language, result.confidence) == ("", 0.0), result
        elif isinstance(result, NotScored):  # the language policy (docs/language.md)
            assert_not_scored(result)
        elif result is not None:
            assert text is not None and cleaned(text).strip(), f"sentiment of no text: {text!r}"
            assert result.label in labels["sentiment"]
            assert_distribution(result.probabilities, labels["sentiment"])
            polarity = result.probabilities["positive"] - result.probabilities["negative"]
            assert abs(result.score - polarity) < 1e-3, result

    spans = client_call(tally, lambda: c.entities(texts))
    assert len(spans) == n
    for text, found in zip(texts, spans, strict=True):
        assert (found is None) == (text is None)
        if text is None or found is None:
            continue
        if isinstance(found, NotScored):
            assert_not_scored(found)
            continue
        seen = cleaned(text)
        for e in found:
            assert 0 <= e.start < e.end <= len(seen), (e, len(seen))
            assert seen[e.start : e.end] == e.text, (seen, e)
            assert e.label in {"PER", "ORG", "LOC", "MISC"} and 0.0 <= e.score <= 1.0 + 1e-6

    dtype = data.draw(st.sampled_from(["float32", "float16"]), label="dtype")
    vectors = client_call(tally, lambda: c.embed(texts, dtype=dtype))
    assert len(vectors) == n
    for text, vector in zip(texts, vectors, strict=True):
        assert (vector is None) == (text is None)
        if vector is not None:
            assert vector.shape == (384,) and bool((abs(vector) < 1e4).all())
            assert abs(float((vector * vector).sum()) - 1.0) < 1e-2

    languages = client_call(tally, lambda: c.language(texts))
    assert len(languages) == n
    for text, found in zip(texts, languages, strict=True):
        assert (found is None) == (text is None)
        if found is not None:
            assert found.language and 0.0 <= found.confidence <= 1.0, found
            assert found.language != "und" or (found.confidence == 0 and not found.reliable)

    targets = [
        data.draw(
            st.one_of(st.none(), st.just(""), st.sampled_from(WORDS + ODD), st.text(max_size=20)),
            label="target",
        )
        for _ in texts
    ]
    toward = client_call(tally, lambda: c.aspect_sentiment(texts, targets))
    assert len(toward) == n
    for text, target, result in zip(texts, targets, toward, strict=True):
        if text is None or target is None or not target.strip():
            assert result is None, (text, target, result)
            continue
        if target.isascii() and target.isalpha() and f" {target} " in f" {cleaned(text)} ":
            assert result is not None, f"{target!r} is a whole word of {text!r}"
        if isinstance(result, NotScored):
            assert_not_scored(result)
        elif result is not None:
            assert_distribution(result.probabilities, labels["aspect"])

    candidates = data.draw(st.lists(LABEL, min_size=2, max_size=4, unique=True), label="labels")
    nice = all(x.strip() and not SURROGATE.search(x) for x in candidates)
    classified = client_call(
        tally, lambda: c.classify(texts, labels=candidates), may_refuse=not nice
    )
    if classified is None:
        return
    assert len(classified) == n
    for text, result in zip(texts, classified, strict=True):
        assert (result is None) == (text is None)
        if result is not None:
            assert result.label in candidates
            assert_distribution(result.scores, candidates)


def run_text_fuzz(server: Any, examples: int, seconds: float, name: str) -> None:
    tally = Tally(name, seconds)
    with Client(server.target, timeout=120, retries=0) as c:
        labels = {m.task: m.labels for m in c.list_models()}

        @fuzz_settings(examples)
        @given(texts=st.lists(st.one_of(st.none(), CLIENT_TEXT), max_size=8), data=st.data())
        def fuzz(texts: list[str | None], data: Any) -> None:
            tally.run(lambda: check_texts(c, labels, texts, data, tally))

        try:
            fuzz()
        finally:
            report(tally.line())
    assert tally.texts > 0 and tally.codes["INTERNAL"] == 0


def run_request_fuzz(server: Any, examples: int, seconds: float, name: str) -> None:
    """Random messages, crafted and mutated bytes, to every TextAnalysis method (mixed)."""
    tally = Tally(name, seconds)
    with Client(server.target) as c:
        models = {m.name: m.task for m in c.list_models()}
    with grpc.insecure_channel(server.target) as channel:

        def judge(method: str, data: bytes, metadata: tuple[tuple[str, str], ...]) -> None:
            tally.requests += 1
            answer = call_raw(channel, method, data, metadata)
            tally.codes[answer.code.name] += 1
            tally.texts += answer.texts
            allowed = expected_codes(models, method, data, metadata)
            check_answer(method, data, metadata, answer, allowed)

        @fuzz_settings(examples)
        @given(case=request_strategy(sorted(models), WIRE_TEXT))
        def fuzz(case: tuple[str, bytes, tuple[tuple[str, str], ...]]) -> None:
            tally.run(lambda: judge(*case))

        try:
            fuzz()
        finally:
            report(tally.line())
    assert tally.requests > 0 and tally.codes["INTERNAL"] + tally.codes["UNKNOWN"] == 0


def test_fuzzed_texts_keep_every_invariant(inprocess_server: Callable[..., Any]) -> None:
    run_text_fuzz(inprocess_server(), examples=100, seconds=60, name="texts")


def test_fuzzed_requests_and_bytes_get_documented_codes(
    inprocess_server: Callable[..., Any],
) -> None:
    server = inprocess_server(admin_token=ADMIN_TOKEN)
    run_request_fuzz(server, examples=600, seconds=45, name="requests")


def test_health_and_unknown_methods(inprocess_server: Callable[..., Any]) -> None:
    """The two answers no oracle above covers: health per service, unknown method names."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    server = inprocess_server()
    with grpc.insecure_channel(server.target) as channel:
        check = health_pb2_grpc.HealthStub(channel).Check
        serving = health_pb2.HealthCheckResponse.SERVING
        for service in ("", "textlens.v1.TextAnalysis"):
            assert (
                check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == serving
            )
        with pytest.raises(grpc.RpcError) as info:
            check(health_pb2.HealthCheckRequest(service="textlens.v1.Nope"), timeout=10)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        answer: RawAnswer = call_raw(channel, "Nope", b"\x0a\x01a", ())
        assert answer.code == grpc.StatusCode.UNIMPLEMENTED
    assert set(METHODS) == {
        "Sentiment", "AspectSentiment", "Entities", "Embed", "Classify", "Language",
        "ListModels", "ReloadModels",
    }  # fmt: skip


@SLOW
def test_fuzz_long(inprocess_server: Callable[..., Any]) -> None:
    """`TEXTLENS_FUZZ_EXAMPLES` (default 1000) examples per level, up to `TEXTLENS_FUZZ_SECONDS`."""
    examples = env_int("TEXTLENS_FUZZ_EXAMPLES", 1000)
    seconds = env_float("TEXTLENS_FUZZ_SECONDS", 900)
    run_text_fuzz(inprocess_server(), examples, seconds, "texts (long)")
    server = inprocess_server(admin_token=ADMIN_TOKEN)
    run_request_fuzz(server, examples * 5, seconds, "requests (long)")
