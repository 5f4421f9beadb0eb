"""The embedded default models on this machine: what `auto` picked passed its gates; each
backend serves them (int8 only where the CPU has int8 dot products)."""

from __future__ import annotations

from typing import Any

import pytest

from textlens.client.errors import ModelLoadError
from textlens.server.assembly import load_models
from textlens.server.inference.validation_gate import ruled_out
from textlens.server.runtime.hardware import cpu_info
from textlens.server.settings import default_models

pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime (models extra)")

SENTENCES = [
    "Tim Cook said Apple would open a new office in Berlin on Monday.",
    "The battery is terrible and support never answered.",
    "Siemens will report results on Thursday.",
]


def test_auto_choices_passed_their_gates(default_served: list[Any]) -> None:
    for served in default_served:
        info = served.info()
        selection = served.model.loaded.selection
        assert selection is not None, info.name
        if info.device != "cpu" or not selection.trials:
            continue  # CUDA, or a single candidate: nothing was measured
        chosen = [
            t
            for t in selection.trials
            if (t["backend"], t["dtype"], t["recipe"] or "")
            == (selection.backend, selection.dtype, selection.variant)
        ]
        assert len(chosen) == 1 and chosen[0]["passed"], (info.name, selection.trials)
        ref = next(
            t for t in selection.trials if (t["backend"], t["dtype"]) == ("torch", "float32")
        )
        assert chosen[0]["rows_per_s"] >= ref["rows_per_s"], "auto must never be slower than fp32"


def test_validation_rules_out_what_lost_accuracy(default_served: list[Any]) -> None:
    """models/*/validation_gate.json: per-tensor int8 lost > 0.5 points everywhere."""
    for served in default_served:
        selection = served.model.loaded.selection
        assert selection is not None
        assert selection.variant != "per-tensor", served.name
        path = f"{selection.backend}/{selection.dtype}"
        path += f" {selection.variant}" if selection.variant else ""
        assert path not in ruled_out(served.spec.source, served.version), (served.name, path)
        if served.spec.task == "embed" and selection.backend == "onnx":
            assert selection.dtype != "int8"  # mean cosine 0.9897 < 0.99 on validation texts


@pytest.mark.parametrize(
    ("backend", "dtype"),
    [
        ("onnx", "float32"),
        ("onnx", "int8"),
        ("torch", "bfloat16"),
        ("openvino", "float32"),
        ("openvino", "int8"),
    ],
)
def test_every_path_serves_the_default_ner_and_sentiment(backend: str, dtype: str) -> None:
    cpu = cpu_info()
    if dtype == "int8" and not cpu.int8_dot:
        pytest.skip("this CPU has no int8 dot-product instructions (VNNI / ARM dotprod)")
    if dtype == "bfloat16" and not cpu.native_bf16:
        pytest.skip("this CPU has no native bf16 (AVX512_BF16 / AMX); bf16 would be emulated")
    for task, name in (("sentiment", "sentiment-minilm"), ("ner", "ner-minilm")):
        (spec,) = [s for s in default_models() if s.task == task]
        pinned = spec.model_copy(update={"backend": backend, "dtype": dtype, "device": "cpu"})
        try:
            got = load_models([pinned])
        except ModelLoadError as exc:
            # An explicit precision that fails the parity gate must say so, with the numbers.
            assert "failed the parity gate" in str(exc) and "needs >=" in str(exc)
            assert dtype == "int8", f"{backend}/{dtype} should pass for {name}: {exc}"
            continue
        reference = load_models(
            [spec.model_copy(update={"backend": "torch", "dtype": "float32", "device": "cpu"})]
        )
        try:
            info = got.models[name].info()
            assert (info.backend, info.dtype) == (backend, dtype)
            a, b = (r.models[name].batcher.submit(SENTENCES) for r in (got, reference))
            if task == "ner":
                spans = [[(e.text, e.label) for e in row] for row in a.result(timeout=120)]
                want = [[(e.text, e.label) for e in row] for row in b.result(timeout=120)]
                assert spans == want
                assert ("Apple", "ORG") in spans[0] and ("Berlin", "LOC") in spans[0]
            else:
                labels = [x.label for x in a.result(timeout=120)]
                assert labels == [x.label for x in b.result(timeout=120)]
                assert labels == ["neutral", "negative", "neutral"]
        finally:
            got.close()
            reference.close()


def test_shipped_engine_choices_are_for_the_current_weights(default_served: list[Any]) -> None:
    """A record of older weights can never match a key again: dead weight, and a sign that
    `scripts/ship_engine_choices.py` was not rerun after retraining."""
    from textlens.server.inference.shipped_choices import choices_file, read_shipped

    for served in default_served:
        path = choices_file(served.spec.source)
        assert path is not None
        for digest, record in read_shipped(path).items():
            assert record["version"] == served.version, (path, digest)
            chosen = [
                t
                for t in record["trials"]
                if (t["backend"], t["dtype"], t["recipe"])
                == (
                    record["backend"],
                    record["dtype"],
                    record["recipe"],
                )
            ]
            assert len(chosen) == 1 and chosen[0]["passed"], (path, digest)
