"""Export a merged network to ONNX and quantize it, cached by model version.

The export is the slow part of an ONNX start (seconds for MiniLM); the files
live under the cache directory in one folder per (model version, library
versions), so the second start costs only a session load and a new model
version gets new files. Writes are atomic (a temporary name, then a rename):
two servers starting together never read half a file.

A cached file is used only if its sha256 matches the `<file>.sha256` written
beside it after the export: a file cut short (a full disk, a copy of the
cache interrupted) or one without a checksum (an older cache) is rebuilt, in
place and atomically, instead of failing every start over to torch.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib.metadata
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from textlens.server.inference.candidates import Int8Recipe
from textlens.server.inference.probe_set import PROBE_VERSION
from textlens.server.inference.static_int8 import quantize_static_file
from textlens.server.runtime.artifacts import sha256_file
from textlens.server.runtime.engine import INPUT_NAMES
from textlens.server.runtime.networks import TaskNetwork

if TYPE_CHECKING:
    from textlens.server.runtime.tasks import TaskModel

log = logging.getLogger(__name__)

OPSET = 17
#: Bump when the exported graph changes (inputs, outputs, quantization recipe).
EXPORT_FORMAT = 1


@functools.cache
def library_versions() -> str:
    """The libraries whose release changes an export, a quantization or a kernel (read once:
    they cannot change under a running process)."""
    import onnxruntime

    text = f"torch{torch.__version__}-ort{onnxruntime.__version__}"
    for name, short in (("openvino", "ov"), ("nncf", "nncf")):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            text += f"-{short}{importlib.metadata.version(name)}"
    return f"{text}-fmt{EXPORT_FORMAT}"


def export_dir(cache_dir: Path, task: str, version: str) -> Path:
    """Where one model version's exported files live."""
    digest = hashlib.sha256(f"{task}|{version}|{library_versions()}".encode()).hexdigest()[:8]
    return cache_dir / "onnx" / f"{task}-{version}-{digest}"


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def checksum_file(path: Path) -> Path:
    """Where the sha256 of a cached export is kept."""
    return path.with_name(path.name + ".sha256")


def write_checksum(path: Path) -> None:
    """Record `path`'s sha256 beside it (after the file itself is in place)."""
    with atomic_write(checksum_file(path)) as tmp:
        tmp.write_text(sha256_file(path) + "\n", encoding="ascii")


def is_complete(path: Path) -> bool:
    """True if `path` is a complete export: its sha256 matches the one recorded beside it."""
    if not path.is_file():
        return False
    try:
        expected = checksum_file(path).read_text(encoding="ascii").strip()
        actual = sha256_file(path)
    except OSError as exc:
        log.warning("cached ONNX file %s has no readable checksum (%s); rebuilding it", path, exc)
        return False
    if actual != expected:
        log.warning(
            "cached ONNX file %s is damaged (sha256 %s, recorded %s; %d bytes); rebuilding it",
            path,
            actual[:12],
            expected[:12] or "none",
            path.stat().st_size,
        )
        return False
    return True


class _OnlyErrorsFromThisThread(logging.Filter):
    """Drops this thread's records below ERROR: an export may run in the background
    (`runtime.deferred`) while other threads serve, and their logs must go on."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread or record.levelno >= logging.ERROR


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The exporter's tracer warnings and the quantizer's advice go nowhere near the user."""
    root = logging.getLogger()
    # With no handler, the quantizer's `logging.warning(...)` would install one
    # (`basicConfig`) and print; a handler that drops records keeps the root as it was.
    idle = logging.NullHandler() if not root.handlers else None
    if idle is not None:
        root.addHandler(idle)
    handlers = list(root.handlers)
    only_errors = _OnlyErrorsFromThisThread()
    for handler in handlers:
        handler.addFilter(only_errors)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for handler in handlers:
            handler.removeFilter(only_errors)
        if idle is not None:
            root.removeHandler(idle)


def fp32_file(network: TaskNetwork, directory: Path) -> Path:
    """The float32 ONNX graph of `network` (exported unless already cached)."""
    path = directory / "fp32.onnx"
    if is_complete(path):
        return path
    directory.mkdir(parents=True, exist_ok=True)
    casing = network.casing is not None
    names = list(INPUT_NAMES if casing else INPUT_NAMES[:2])
    sample = tuple(torch.ones(2, 8, dtype=torch.int64) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["logits"] = {0: "batch"} if network.kind != "token" else {0: "batch", 1: "tokens"}
    # A copy is traced: the served engine may be running this very network on another
    # thread (a background measurement), and tracing must not share its module state.
    traced = copy.deepcopy(network).eval()
    with atomic_write(path) as tmp, quiet(), torch.no_grad():
        torch.onnx.export(
            traced,
            sample,
            str(tmp),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    write_checksum(path)
    log.debug("exported %s", path)
    return path


def int8_file(fp32: Path, recipe: Int8Recipe, model: TaskModel | None = None) -> Path:
    """`fp32` quantized to int8 by `recipe` (cached next to it).

    Dynamic recipes quantize the weights only; static ones also calibrate the
    activations on `model`'s probe set (`static_int8`), so they need the model.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    name = f"int8-{recipe.name}-probe{PROBE_VERSION}" if recipe.static else f"int8-{recipe.name}"
    path = fp32.with_name(f"{name}.onnx")
    if is_complete(path):
        return path
    if recipe.static and model is None:
        raise ValueError("a static int8 recipe calibrates on the model's probe set: pass model")
    with atomic_write(path) as tmp, quiet():
        if recipe.static:
            assert model is not None
            quantize_static_file(fp32, tmp, model, recipe.per_channel, recipe.reduce_range)
        else:
            quantize_dynamic(
                str(fp32),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=recipe.per_channel,
                reduce_range=recipe.reduce_range,
            )
    write_checksum(path)
    log.debug("quantized %s", path)
    return path
