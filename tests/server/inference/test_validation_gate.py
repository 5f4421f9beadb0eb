"""validation_gate.json: what a model's own validation rules out, on every CPU.

Found on an AVX2-only machine: there int8 recipes carry `-reduce-range` (7-bit
weights), names the gate never measured, so the embed model's ruled-out int8
slipped back in and served topics drifted from their fit.
"""

from __future__ import annotations

import json
from pathlib import Path

from textlens.server.inference.validation_gate import FILE, ruled_out


def write_gate(directory: Path, paths: dict[str, bool]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    entries = {p: {"allowed": ok, "why": f"measured {p}"} for p, ok in paths.items()}
    (directory / FILE).write_text(json.dumps({"version": "v1", "paths": entries}), "utf-8")


def test_a_ruled_out_int8_recipe_takes_its_7_bit_twin_with_it(tmp_path: Path) -> None:
    write_gate(tmp_path, {"onnx/int8 per-channel": False, "onnx/float32": True})
    out = ruled_out(str(tmp_path), "v1")
    assert set(out) == {"onnx/int8 per-channel", "onnx/int8 per-channel-reduce-range"}
    assert "7-bit" in out["onnx/int8 per-channel-reduce-range"]


def test_a_measured_twin_keeps_its_own_verdict(tmp_path: Path) -> None:
    write_gate(
        tmp_path,
        {"onnx/int8 per-channel": False, "onnx/int8 per-channel-reduce-range": True},
    )
    assert set(ruled_out(str(tmp_path), "v1")) == {"onnx/int8 per-channel"}


def test_the_committed_encoder_gate_rules_out_int8_on_every_cpu() -> None:
    out = ruled_out("builtin:minilm", "53aa51172d14")
    assert {"onnx/int8 per-channel", "onnx/int8 per-channel-reduce-range"} <= set(out)
