"""The torch network without its weights, for models an engine other than torch serves.

ONNX Runtime keeps its own copy of the weights in its session, so once an ONNX
engine serves a model the torch network's ~90 MB (MiniLM, float32) only sit in
memory. The model still needs the network's *structure* (its config, casing
embedding flag, `prepare_texts`, `float32_only`), so it keeps a copy whose
tensors live on torch's `meta` device: shapes without storage. The real network
is not modified: a forward pass that began on the torch engine before the swap
finishes on it, and the weights are freed when the last such pass lets go of them.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import gc
from typing import Any

import torch

from textlens.server.runtime.networks import TaskNetwork


def tensor_bytes(network: torch.nn.Module) -> int:
    """Bytes held by the network's parameters and buffers (0 for a weightless copy)."""
    tensors = [*network.parameters(), *network.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors if t.device.type != "meta")


def weightless_copy(network: TaskNetwork) -> TaskNetwork:
    """A copy of `network` whose parameters and buffers are shape-only `meta` tensors."""
    memo: dict[int, Any] = {}
    for param in network.parameters():
        memo[id(param)] = torch.nn.Parameter(
            torch.empty_like(param, device="meta"), requires_grad=False
        )
    for buffer in network.buffers():
        memo[id(buffer)] = torch.empty_like(buffer, device="meta")
    shell: TaskNetwork = copy.deepcopy(network, memo)
    shell.register_forward_pre_hook(_released)
    return shell


def _released(module: torch.nn.Module, args: Any) -> None:
    """A weightless network says why it cannot run, instead of a meta-tensor error."""
    raise RuntimeError(
        "this model's torch weights were released because another engine (ONNX Runtime, "
        "OpenVINO) serves it: call the model through its engine (`LoadedModel.run`), or set "
        "release_torch_weights = false (TEXTLENS_RELEASE_TORCH_WEIGHTS=false) to keep them"
    )


def return_freed_memory() -> None:
    """Hand memory freed by released weights back to the operating system.

    glibc keeps freed heap pages for reuse, so without a trim the process's
    resident size would not shrink. No-op where the C library has no
    `malloc_trim` (musl, macOS, Windows).
    """
    gc.collect()  # the old engine and network may sit in reference cycles
    name = ctypes.util.find_library("c")
    if not name:
        return
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is not None:
        trim(0)
