"""The peers' side of bench/peers.py: sentence-transformers' own recipes, in the peers' venv.

    bench/.venv-peers/bin/python bench/peers_side.py --model DIR --texts texts.json --out DIR

Runs in bench/.venv-peers (bench/peers-requirements.txt), never in textlens' .venv:
each peer runs its own code at its own pins. For every recipe: the encoder is
built the way its documentation says (timed as `build_seconds`), warmed up on
64 texts, then `encode()` runs over all texts in ROUNDS rounds and the fastest
counts. Vectors go to `<out>/<recipe>.npy`; one JSON document goes to stdout.
Imports nothing from textlens.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROUNDS = 3


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def onnx_int8_config(flags: set[str]) -> str:
    """sentence-transformers' own quantization config for this CPU (its docs' advice)."""
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2"


def calibration_folder(data: Path | None, work: Path) -> Path | None:
    """SST-2 sentences as a local `datasets` folder: the calibration set ST's OpenVINO int8
    recipe downloads by default (glue/sst2), read from disk because no hub is reachable."""
    if data is None or not (data / "sst2_train.csv").is_file():
        return None
    folder = work / "sst2_calibration"
    folder.mkdir(exist_ok=True)
    lines = (data / "sst2_train.csv").read_text(encoding="utf-8").splitlines()
    (folder / "train.csv").write_text("\n".join(lines[:2001]) + "\n", encoding="utf-8")
    return folder


def recipes(model_dir: Path, work: Path, data: Path | None) -> dict[str, Callable[[], Any]]:
    from sentence_transformers import (
        SentenceTransformer,
        export_dynamic_quantized_onnx_model,
        export_static_quantized_openvino_model,
    )

    flags = cpu_flags()
    config = onnx_int8_config(flags)

    def onnx_int8() -> Any:
        copy = work / "onnx_int8"
        shutil.copytree(model_dir, copy, dirs_exist_ok=True)
        model = SentenceTransformer(str(copy), backend="onnx", device="cpu")
        model.save_pretrained(str(copy))
        export_dynamic_quantized_onnx_model(model, config, str(copy))
        return SentenceTransformer(
            str(copy),
            backend="onnx",
            device="cpu",
            model_kwargs={"file_name": f"onnx/model_qint8_{config}.onnx"},
        )

    def openvino_int8() -> Any:
        from optimum.intel import OVQuantizationConfig

        calib = calibration_folder(data, work)
        if calib is None:
            raise RuntimeError("no sst2_train.csv under --data to calibrate on")
        copy = work / "openvino_int8"
        shutil.copytree(model_dir, copy, dirs_exist_ok=True)
        model = SentenceTransformer(str(copy), backend="openvino", device="cpu")
        model.save_pretrained(str(copy))
        export_static_quantized_openvino_model(
            model,
            OVQuantizationConfig(num_samples=300),
            str(copy),
            dataset_name=str(calib),
            dataset_config_name="default",
            dataset_split="train",
            column_name="text",
        )
        return SentenceTransformer(
            str(copy),
            backend="openvino",
            device="cpu",
            model_kwargs={"file_name": "openvino/openvino_model_qint8_quantized.xml"},
        )

    return {
        "st-torch-float32": lambda: SentenceTransformer(str(model_dir), device="cpu"),
        "st-onnx-float32": lambda: SentenceTransformer(
            str(model_dir), backend="onnx", device="cpu"
        ),
        f"st-onnx-int8-{config}": onnx_int8,
        "st-openvino-float32": lambda: SentenceTransformer(
            str(model_dir), backend="openvino", device="cpu"
        ),
        "st-openvino-int8-static": openvino_int8,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="a sentence-transformers folder")
    parser.add_argument("--texts", type=Path, required=True, help="a JSON list of texts")
    parser.add_argument("--out", type=Path, required=True, help="folder for the vectors")
    parser.add_argument("--data", type=Path, default=None, help="../shared/data (calibration)")
    parser.add_argument("--only", nargs="*", default=None, help="recipe names to run")
    args = parser.parse_args()

    import numpy as np
    import sentence_transformers
    import torch
    import transformers

    texts: list[str] = json.loads(args.texts.read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in recipes(args.model, Path(tmp), args.data).items():
            if args.only and name not in args.only:
                continue
            row: dict[str, Any] = {"recipe": name}
            try:
                started = time.perf_counter()
                model = build()
                row["build_seconds"] = round(time.perf_counter() - started, 2)
                model.encode(texts[:64])
                best = float("inf")
                for _ in range(ROUNDS):
                    started = time.perf_counter()
                    vectors = model.encode(texts, convert_to_numpy=True)
                    best = min(best, time.perf_counter() - started)
                row["rows_per_s"] = round(len(texts) / best, 1)
                path = args.out / f"{name}.npy"
                np.save(path, np.asarray(vectors, dtype=np.float32))
                row["vectors"] = str(path)
            except Exception as exc:  # a peer that does not build here is reported, not fatal
                row["error"] = f"{type(exc).__name__}: {exc}"[:400]
                traceback.print_exc(file=sys.stderr)
            print(f"peer {name}: {row}", file=sys.stderr, flush=True)
            results.append(row)
    versions = {
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }
    for module in ("onnxruntime", "openvino", "optimum"):
        try:
            versions[module] = __import__(module).__version__
        except Exception:  # not installed, or no version attribute
            versions[module] = None
    print(json.dumps({"versions": versions, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
