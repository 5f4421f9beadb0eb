"""Engines: the forward pass of one model on one backend, padded numpy in, float32 numpy out.

The task models (`textlens.server.runtime.tasks`) tokenize, pad and decode;
an engine only runs the network, so torch and ONNX Runtime are
interchangeable under the same batcher. CPU engines of one process share one
compute lock: each forward already uses every core it may, and two models
forwarding at once (`SELECT sentiment(x), entities(x)`) would only fight over
them. The lock (`cpu_lock.CpuLock`) lets passes of small rounds go before
passes of bulk rounds, so small calls on one model do not wait for a bulk
request on another.

The runtime holds the engine interface and the float32/autocast torch engine every
model starts on; the inference backends (`textlens.server.inference`) add the ONNX
Runtime engine and choose between them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from textlens.server.runtime.cpu_lock import CpuLock
from textlens.server.runtime.networks import TaskNetwork

#: Input names of exported networks, in `TaskNetwork.forward` order.
INPUT_NAMES = ("input_ids", "attention_mask", "casing_ids")


class Engine(Protocol):
    backend: str
    dtype: str
    device: str

    def __call__(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, casing_ids: np.ndarray | None
    ) -> np.ndarray: ...


class TorchEngine:
    """The torch network: weights in `dtype` on CUDA; on the CPU bf16/fp16 run under autocast.

    CPU autocast keeps LayerNorm and softmax in float32 and the weights in
    float32 (the parity gate's reference is this very network), while the
    matmuls run in bf16 on the CPU's native bf16 units.
    """

    backend = "torch"

    def __init__(
        self,
        network: TaskNetwork,
        device: torch.device,
        dtype: torch.dtype,
        lock: CpuLock | None = None,
    ) -> None:
        self.network = network
        self.torch_device = device
        self.torch_dtype = dtype
        self.device = str(device)
        self.dtype = str(dtype).removeprefix("torch.")
        self.autocast = device.type == "cpu" and dtype != torch.float32
        self._lock: Any = lock if lock is not None and device.type == "cpu" else None

    @torch.inference_mode()
    def __call__(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, casing_ids: np.ndarray | None
    ) -> np.ndarray:
        device = self.torch_device
        kwargs: dict[str, torch.Tensor] = {
            "input_ids": torch.from_numpy(input_ids).to(device),
            "attention_mask": torch.from_numpy(attention_mask).to(device),
        }
        if casing_ids is not None:
            kwargs["casing_ids"] = torch.from_numpy(casing_ids).to(device)
        with self._lock or contextlib.nullcontext():
            with torch.autocast("cpu", dtype=self.torch_dtype, enabled=self.autocast):
                out = self.network(**kwargs)
            result: np.ndarray = out.float().cpu().numpy()
        return result


@dataclass
class Selection:
    """The engine a model got: what it runs, why, and what was measured to decide."""

    backend: str
    dtype: str
    variant: str
    reason: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    cached: bool = False
