"""Export a merged network to ONNX and quantize it, cached by model version.

The export is the slow part of an ONNX start (seconds for MiniLM); the files
live under the cache directory in one folder per (model version, library
versions), so the second start costs only a session load and a new model
version gets new files. Writes are atomic (a temporary name, then a rename):
two servers starting together never read half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from textlens.server.inference.candidates import Int8Recipe
from textlens.server.inference.engines import INPUT_NAMES
from textlens.server.runtime.networks import TaskNetwork

log = logging.getLogger(__name__)

OPSET = 17
#: Bump when the exported graph changes (inputs, outputs, quantization recipe).
EXPORT_FORMAT = 1


def library_versions() -> str:
    import onnxruntime

    return f"torch{torch.__version__}-ort{onnxruntime.__version__}-fmt{EXPORT_FORMAT}"


def export_dir(cache_dir: Path, task: str, version: str) -> Path:
    """Where one model version's exported files live."""
    digest = hashlib.sha256(f"{task}|{version}|{library_versions()}".encode()).hexdigest()[:8]
    return cache_dir / "onnx" / f"{task}-{version}-{digest}"


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's tracer warnings and the quantizer's advice go nowhere near the user."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def fp32_file(network: TaskNetwork, directory: Path) -> Path:
    """The float32 ONNX graph of `network` (exported unless already cached)."""
    path = directory / "fp32.onnx"
    if path.is_file():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    casing = network.casing is not None
    names = list(INPUT_NAMES if casing else INPUT_NAMES[:2])
    sample = tuple(torch.ones(2, 8, dtype=torch.int64) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["logits"] = {0: "batch"} if network.kind != "token" else {0: "batch", 1: "tokens"}
    # The network lives on the CPU in fp32 here (the torch engine's own copy is untouched).
    with _atomic(path) as tmp, _quiet(), torch.no_grad():
        torch.onnx.export(
            network,
            sample,
            str(tmp),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    log.debug("exported %s", path)
    return path


def int8_file(fp32: Path, recipe: Int8Recipe) -> Path:
    """`fp32` with dynamically quantized int8 weights (cached next to it)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = fp32.with_name(f"int8-{recipe.name}.onnx")
    if path.is_file():
        return path
    with _atomic(path) as tmp, _quiet():
        quantize_dynamic(
            str(fp32),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=recipe.per_channel,
            reduce_range=recipe.reduce_range,
        )
    log.debug("quantized %s", path)
    return path
