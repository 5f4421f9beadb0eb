"""The aspect-sentiment job: parallel texts and targets, NULLs in either, chunking."""

from __future__ import annotations

import pytest

from textlens.client import errors
from textlens.client.results import SentimentResult
from textlens.client.wire import aspect_sentiment_job
from textlens.v1 import textlens_pb2 as pb


def _answer(request: pb.AspectSentimentRequest) -> pb.AspectSentimentResponse:
    """What a server says: 'mentioned' when the target is a word of the text."""
    results = []
    for text, target in zip(request.texts, request.targets, strict=True):
        if target in text.split():
            results.append(
                pb.AspectSentimentResult(
                    mentioned=True,
                    label=f"{target}@{text}",
                    score=0.5,
                    probabilities={"positive": 0.75, "negative": 0.25},
                )
            )
        else:
            results.append(pb.AspectSentimentResult())
    return pb.AspectSentimentResponse(results=results)


def test_pairs_with_a_null_side_are_not_sent_and_come_back_none() -> None:
    texts = ["a b", None, "c d", "e f", "g h"]
    targets = ["a", "x", None, "zzz", "h"]
    job = aspect_sentiment_job(texts, targets, "m", "truncate", 1)
    requests = list(job.requests)
    assert [(list(r.texts), list(r.targets)) for r in requests] == [
        (["a b"], ["a"]),
        (["e f"], ["zzz"]),
        (["g h"], ["h"]),
    ]
    assert all(r.model == "m" for r in requests)
    out = job.finish([_answer(r) for r in requests])
    assert out[1] is None and out[2] is None and out[3] is None  # NULL, NULL, not mentioned
    assert isinstance(out[0], SentimentResult) and out[0].label == "a@a b"
    assert out[4] is not None and out[4].label == "h@g h"
    assert out[0].probabilities == {"positive": 0.75, "negative": 0.25}


def test_chunks_keep_texts_and_targets_aligned() -> None:
    texts = [f"t{i} w{i}" for i in range(7)]
    targets = [f"w{i}" for i in range(7)]
    job = aspect_sentiment_job(texts, targets, "", "truncate", 3)
    requests = list(job.requests)
    assert [len(r.texts) for r in requests] == [3, 3, 1]
    out = job.finish([_answer(r) for r in requests])
    assert [r.label if r else None for r in out] == [f"w{i}@t{i} w{i}" for i in range(7)]


def test_bad_calls_fail_before_anything_is_sent() -> None:
    with pytest.raises(errors.InvalidInput, match="2 texts but 1 targets"):
        aspect_sentiment_job(["a", "b"], ["a"], "", "truncate", 8)
    with pytest.raises(errors.InvalidInput, match="targets must be a sequence"):
        aspect_sentiment_job(["a"], "a", "", "truncate", 8)
    with pytest.raises(errors.InvalidInput, match=r"targets\[0\] must be a str"):
        aspect_sentiment_job(["a"], [3], "", "truncate", 8)  # type: ignore[list-item]
    with pytest.raises(errors.InvalidInput, match=r"texts\[0\] is int"):
        aspect_sentiment_job([3], ["a"], "", "truncate", 8)  # type: ignore[list-item]
    with pytest.raises(errors.InvalidInput, match="truncation"):
        aspect_sentiment_job(["a"], ["a"], "", "cut", 8)


def test_lone_surrogates_in_texts_are_cleaned() -> None:
    job = aspect_sentiment_job(["bad\udc80 a"], ["a"], "", "truncate", 8)
    (request,) = list(job.requests)
    assert list(request.texts) == ["bad\ufffd a"]
