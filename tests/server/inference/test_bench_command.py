"""`textlens bench` on a tiny model: every path measured, CPU flags printed, JSON out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textlens.cli import main
from textlens.server.runtime.hardware import cpu_info

pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime (models extra)")


def test_bench_prints_flags_table_and_json(
    tiny_models_dir: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(
        f'[[models]]\nname = "s"\ntask = "sentiment"\nsource = "{tiny_models_dir["tiny-sequence"]}"\n',
        encoding="utf-8",
    )
    out_json = tmp_path / "bench.json"
    assert main(["bench", "--config", str(config), "--rows", "64", "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert "flags:" in printed and "GEMM peak" in printed
    result = json.loads(out_json.read_text())
    assert result["cpu_flags"] == cpu_info().shown_flags()
    paths = {r["path"]: r for r in result["results"]}
    assert {"torch/float32", "onnx/float32"} <= set(paths)
    assert paths["torch/float32"]["speedup"] == 1.0
    assert sum(r["auto"] for r in result["results"]) == 1
    for row in result["results"]:
        assert row["rows_per_s"] > 0 and row["tokens_per_s"] > 0 and row["gflops"] > 0
        assert row["cold_start_seconds"] >= row["load_seconds"]
    assert paths["onnx/float32"]["agreement"] == 1.0
