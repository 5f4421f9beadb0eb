"""A configured model spec → a task model on its engine (the registry's one entry point)."""

from __future__ import annotations

import logging

import torch

from textlens.contract.errors import ModelLoadError
from textlens.server.dtypes import canonical_dtype
from textlens.server.inference.selection import select_cpu_engine
from textlens.server.runtime.context import InferenceContext
from textlens.server.runtime.devices import dtype_name, resolve_device, resolve_dtype
from textlens.server.runtime.engine import Selection
from textlens.server.runtime.loading import load_model
from textlens.server.runtime.tasks import TASK_MODELS, TaskModel
from textlens.server.settings import ModelSpec

log = logging.getLogger(__name__)


def load_task_model(spec: ModelSpec, context: InferenceContext) -> TaskModel:
    """Load `spec` and put it on the engine its backend/dtype resolve to on this machine."""
    device = resolve_device(spec.device)
    if device.type == "cuda":
        return _cuda_model(spec, device)
    loaded = load_model(spec.source, spec.task, device, torch.float32, spec.max_length)
    model = TASK_MODELS[spec.task](spec.name, loaded)
    dtype = spec.dtype
    topics = loaded.network.float32_only and canonical_dtype(dtype) == "auto"
    if topics:  # a topic model: labels flip near the centroid boundaries at lower precision
        dtype = "float32"
    note = "topic model: float32 only, so served topics are the fit's assignments; "
    engine, selection = select_cpu_engine(
        model, spec.backend, dtype, context, note if topics else ""
    )
    freed = loaded.serve_on(engine, selection, context.release_torch_weights)
    log.info(
        "model %s runs on %s/%s: %s",
        spec.name,
        selection.backend,
        selection.dtype,
        selection.reason,
    )
    if freed:
        log.info("model %s: torch weights released (%.0f MB)", spec.name, freed / 2**20)
    return model


def _cuda_model(spec: ModelSpec, device: torch.device) -> TaskModel:
    dtype_asked = canonical_dtype(spec.dtype)
    if spec.backend in ("onnx", "openvino") or dtype_asked == "int8":
        raise ModelLoadError(
            f"model {spec.name}: on CUDA textlens runs torch in float32/bfloat16/float16; "
            f"backend '{spec.backend}' and dtype 'int8' are CPU paths (set device = 'cpu' "
            "for them)"
        )
    dtype = resolve_dtype(dtype_asked, device)
    loaded = load_model(spec.source, spec.task, device, dtype, spec.max_length)
    name = torch.cuda.get_device_name(device)
    why = (
        "as configured"
        if dtype_asked != "auto"
        else ("bf16 supported" if dtype == torch.bfloat16 else "no bf16 on this GPU, fp16")
    )
    loaded.selection = Selection(
        "torch", dtype_name(dtype), "", f"torch/{dtype_name(dtype)} on CUDA ({name}): {why}"
    )
    log.info("model %s runs on torch/%s: %s", spec.name, dtype_name(dtype), loaded.selection.reason)
    return TASK_MODELS[spec.task](spec.name, loaded)
