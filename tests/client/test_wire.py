"""Pure conversion rules of the client: no server, no network."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textlens.client import errors
from textlens.client.results import ClassifyResult, Entity, ModelInfo, SentimentResult
from textlens.client.wire import (
    Batch,
    classify_job,
    clean_text,
    dtype_enum,
    embed_array_job,
    embed_job,
    entities_job,
    list_models_job,
    sentiment_job,
    truncation_enum,
    unpack_vectors,
)
from textlens.v1 import textlens_pb2 as pb

# --- NULLs ------------------------------------------------------------------


def test_nulls_are_dropped_and_put_back_at_their_positions() -> None:
    batch = Batch.of([None, "a", None, None, "b", None])
    assert batch.size == 6
    assert batch.texts == ["a", "b"]
    assert batch.positions == [1, 4]
    assert batch.scatter(["A", "B"]) == [None, "A", None, None, "B", None]


def test_no_nulls_needs_no_position_list() -> None:
    batch = Batch.of(["a", "", "c"])
    assert batch.positions is None
    assert batch.scatter([1, 2, 3]) == [1, 2, 3]


def test_all_nulls_and_empty_input_send_nothing() -> None:
    for texts in ([None, None], []):
        job = sentiment_job(texts, "", "truncate", 2048)
        requests = list(job.requests)
        assert requests == []
        assert job.finish([]) == [None] * len(texts)


def test_any_iterable_of_texts_is_accepted() -> None:
    batch = Batch.of(t for t in ["x", None, "y"])
    assert batch.scatter([1, 2]) == [1, None, 2]


def test_a_single_string_is_rejected_with_a_hint() -> None:
    with pytest.raises(errors.InvalidInput, match=r"wrap it in a list"):
        Batch.of("hello")


@pytest.mark.parametrize(
    ("value", "hint"),
    [(3, "expected str or None"), (b"x", "decode it"), (math.nan, "not NaN")],
)
def test_a_non_text_is_rejected_with_its_position(value: object, hint: str) -> None:
    with pytest.raises(errors.InvalidInput, match=rf"texts\[1\].*{hint}"):
        Batch.of(["ok", value, "ok"])  # type: ignore[list-item]


def test_a_wrong_result_count_is_a_textlens_error() -> None:
    with pytest.raises(errors.TextlensError, match="2 results for 3 texts"):
        Batch.of(["a", None, "b", "c"]).scatter([1, 2])


# --- surrogates -------------------------------------------------------------


def test_clean_text_is_identity_for_valid_text() -> None:
    text = "héllo 😀 ünïcode"
    assert clean_text(text) is text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\udc80b", "a\ufffdb"),
        ("\ud800", "\ufffd"),
        # A surrogate *pair* as two code points (e.g. from surrogatepass) stays two.
        ("x\ud83d\ude00y", "x\ufffd\ufffdy"),
    ],
)
def test_lone_surrogates_become_one_replacement_each(text: str, expected: str) -> None:
    assert clean_text(text) == expected
    assert len(clean_text(text)) == len(text)


def test_requests_carry_cleaned_texts_and_keep_valid_ones_intact() -> None:
    job = sentiment_job(["ok ✓", "bad\udc80", None], "", "truncate", 2048)
    (request,) = list(job.requests)
    assert isinstance(request, pb.SentimentRequest)
    assert list(request.texts) == ["ok ✓", "bad\ufffd"]


def test_a_surrogate_in_an_option_is_rejected_before_sending() -> None:
    with pytest.raises(errors.InvalidInput, match="model is not valid UTF-8"):
        sentiment_job(["a"], "m\udc80", "truncate", 2048)


# --- options ----------------------------------------------------------------


def test_truncation_values() -> None:
    assert truncation_enum("truncate") == pb.TRUNCATION_TRUNCATE
    assert truncation_enum("error") == pb.TRUNCATION_ERROR


@pytest.mark.parametrize("value", ["TRUNCATE", "", "drop", None, 1, ["error"]])
def test_bad_truncation_is_invalid_input(value: object) -> None:
    with pytest.raises(errors.InvalidInput, match=r"truncation must be one of 'truncate', 'error'"):
        truncation_enum(value)  # type: ignore[arg-type]


def test_bad_truncation_fails_when_the_job_is_made_not_when_sent() -> None:
    with pytest.raises(errors.InvalidInput):
        entities_job(["a"], "", "nope", 2048)


@pytest.mark.parametrize("value", ["float64", "fp16", None])
def test_bad_dtype_is_invalid_input(value: object) -> None:
    with pytest.raises(errors.InvalidInput, match="dtype must be one of 'float32', 'float16'"):
        dtype_enum(value)  # type: ignore[arg-type]


def test_non_string_model_is_invalid_input() -> None:
    with pytest.raises(errors.InvalidInput, match="model must be a str"):
        sentiment_job(["a"], None, "truncate", 2048)  # type: ignore[arg-type]


def test_labels_must_not_be_a_single_string() -> None:
    with pytest.raises(errors.InvalidInput, match="labels must be a sequence"):
        classify_job(["a"], "positive", "", "", "truncate", 2048)


# --- batching ---------------------------------------------------------------


def test_chunks_split_at_batch_size_in_order() -> None:
    batch = Batch.of([str(i) for i in range(5)])
    assert list(batch.chunks(2)) == [["0", "1"], ["2", "3"], ["4"]]
    assert batch.chunk_sizes(2) == [2, 2, 1]
    assert list(batch.chunks(5)) == [[str(i) for i in range(5)]]
    assert batch.chunk_sizes(5) == [5]


def test_a_large_call_becomes_several_requests_and_one_answer() -> None:
    texts = ["t0", None, "t1", "t2", None, "t3", "t4"]
    job = sentiment_job(texts, "m", "error", 2)
    requests = list(job.requests)
    assert job.method == "Sentiment"
    assert [list(r.texts) for r in requests] == [["t0", "t1"], ["t2", "t3"], ["t4"]]
    assert all(r.model == "m" and r.truncation == pb.TRUNCATION_ERROR for r in requests)

    def answer(request: pb.SentimentRequest) -> pb.SentimentResponse:
        return pb.SentimentResponse(
            results=[
                pb.SentimentResult(label=t, score=0.5, probabilities={t: 1.0})
                for t in request.texts
            ]
        )

    results = job.finish([answer(r) for r in requests])
    assert [r.label if r else None for r in results] == ["t0", None, "t1", "t2", None, "t3", "t4"]
    assert results[0] == SentimentResult(label="t0", score=0.5, probabilities={"t0": 1.0})


# --- other tasks ------------------------------------------------------------


def test_entities_and_classify_results() -> None:
    job = entities_job(["Ada in Paris", None], "", "truncate", 2048)
    (request,) = list(job.requests)
    assert list(request.texts) == ["Ada in Paris"]
    response = pb.EntitiesResponse(
        results=[
            pb.EntitiesResult(
                entities=[
                    pb.Entity(text="Ada", label="PER", start=0, end=3, score=0.9),
                    pb.Entity(text="Paris", label="LOC", start=7, end=12, score=0.8),
                ]
            )
        ]
    )
    assert job.finish([response]) == [
        [Entity("Ada", "PER", 0, 3, 0.9), Entity("Paris", "LOC", 7, 12, 0.8)],
        None,
    ]

    cjob = classify_job([None, "x"], ["a", "b"], "emb", "about {}", "truncate", 2048)
    (creq,) = list(cjob.requests)
    assert list(creq.labels) == ["a", "b"] and creq.hypothesis_template == "about {}"
    cresp = pb.ClassifyResponse(results=[pb.ClassifyResult(label="a", scores={"a": 0.7, "b": 0.3})])
    assert cjob.finish([cresp]) == [None, ClassifyResult("a", {"a": 0.7, "b": 0.3})]


def test_classify_without_labels_sends_none() -> None:
    (request,) = list(classify_job(["x"], None, "clf", "", "truncate", 2048).requests)
    assert list(request.labels) == []


def test_list_models() -> None:
    job = list_models_job()
    assert job.method == "ListModels"
    assert len(list(job.requests)) == 1
    info = pb.ModelInfo(
        name="m", task="embed", labels=[], version="abc", device="cpu", dtype="float32",
        max_length=256, source="builtin:m", is_default=True, dim=384, backend="onnx",
        backend_reason="measured",
    )  # fmt: skip
    assert job.finish([pb.ListModelsResponse(models=[info])]) == [
        ModelInfo(
            "m",
            "embed",
            [],
            "abc",
            "cpu",
            "float32",
            256,
            "builtin:m",
            True,
            384,
            "onnx",
            "measured",
        )
    ]


# --- embeddings -------------------------------------------------------------


def _embed_response(matrix: np.ndarray, wire: str) -> pb.EmbedResponse:
    dtype = pb.VECTOR_DTYPE_FLOAT16 if wire == "float16" else pb.VECTOR_DTYPE_FLOAT32
    data = matrix.astype("<f2" if wire == "float16" else "<f4").tobytes()
    return pb.EmbedResponse(dim=matrix.shape[1], dtype=dtype, normalized=True, vectors=data)


@pytest.mark.parametrize("wire", ["float32", "float16"])
def test_vectors_unpack_to_float32_rows_with_nulls(wire: str) -> None:
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((3, 4)).astype(np.float32)
    job = embed_job(["a", None, "b", "c"], "", "truncate", wire, True, 2048)
    (request,) = list(job.requests)
    assert request.dtype == dtype_enum(wire) and request.skip_normalize is False

    vectors = job.finish([_embed_response(matrix, wire)])
    assert vectors[1] is None
    rows = [v for v in vectors if v is not None]
    tolerance = 1e-3 if wire == "float16" else 0
    for row, expected in zip(rows, matrix, strict=True):
        assert row.dtype == np.float32 and row.shape == (4,)
        assert row.flags.writeable
        np.testing.assert_allclose(row, expected, rtol=tolerance, atol=tolerance)


def test_normalize_false_asks_for_raw_vectors() -> None:
    (request,) = list(embed_job(["a"], "", "truncate", "float32", False, 2048).requests)
    assert request.skip_normalize is True


def test_vectors_of_several_batches_are_concatenated_in_order() -> None:
    matrix = np.arange(5 * 3, dtype=np.float32).reshape(5, 3)
    texts = ["a", "b", None, "c", "d", "e"]
    job = embed_job(texts, "", "truncate", "float16", True, 2)
    requests = list(job.requests)
    assert [len(r.texts) for r in requests] == [2, 2, 1]
    responses = [_embed_response(matrix[i : i + 2], "float16") for i in range(0, 5, 2)]
    vectors = job.finish(responses)
    assert vectors[2] is None
    np.testing.assert_array_equal(np.stack([v for v in vectors if v is not None]), matrix)


def test_embed_array_is_a_zero_copy_view_of_one_batch() -> None:
    matrix = np.arange(6, dtype=np.float32).reshape(2, 3)
    job = embed_array_job(["a", None, "b"], "", "truncate", "float32", True, 2048)
    list(job.requests)
    response = _embed_response(matrix, "float32")
    array = job.finish([response])
    assert array.shape == (2, 3) and array.dtype == np.dtype("<f4")
    assert not array.flags.owndata and not array.flags.writeable
    np.testing.assert_array_equal(array, matrix)


def test_embed_array_keeps_the_wire_dtype_and_concatenates_batches() -> None:
    matrix = np.arange(9, dtype=np.float32).reshape(3, 3)
    job = embed_array_job(["a", "b", "c"], "", "truncate", "float16", True, 2)
    list(job.requests)
    array = job.finish(
        [_embed_response(matrix[:2], "float16"), _embed_response(matrix[2:], "float16")]
    )
    assert array.dtype == np.float16 and array.shape == (3, 3)
    np.testing.assert_array_equal(array.astype(np.float32), matrix)


def test_embed_array_of_no_texts_is_empty() -> None:
    job = embed_array_job([None], "", "truncate", "float32", True, 2048)
    assert list(job.requests) == []
    assert job.finish([]).shape == (0, 0)


def test_unpack_uses_the_dtype_the_server_sent() -> None:
    matrix = np.ones((2, 2), dtype=np.float32)
    assert unpack_vectors(_embed_response(matrix, "float16"), 2).dtype == np.float16


def test_a_short_vector_payload_is_a_textlens_error() -> None:
    response = _embed_response(np.ones((2, 4), dtype=np.float32), "float32")
    with pytest.raises(errors.TextlensError, match="expected 48"):
        unpack_vectors(response, 3)
    with pytest.raises(errors.TextlensError, match="dim 0"):
        unpack_vectors(pb.EmbedResponse(dim=0), 1)
