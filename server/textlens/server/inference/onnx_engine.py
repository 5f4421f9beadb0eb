"""The ONNX Runtime engine: an exported network on the CPU, float32 or int8.

It stands in for the runtime's `TorchEngine` under the same batcher
(`textlens.server.runtime.engine.Engine`); the selection builds it where it wins.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from textlens.server.runtime.cpu_lock import CpuLock


class OnnxEngine:
    """An ONNX Runtime session on the CPU: float32, static int8 or dynamic int8.

    Dynamic int8 (`per_row`) runs each row on its own, unpadded. Dynamic
    quantization scales the activations by the range of the whole input tensor,
    so in a padded batch a text's answer moved with its neighbours (labels flipped
    with the batch a text shared; docs/inference-backends.md has the measurement).
    Alone, a text's answer is a function of the text. One row is too small a matrix
    to share between cores, so that session runs one thread per call and `threads`
    rows run at once. Static int8 has fixed scales (`static_int8`) and batches like
    float32. The selection times this very engine, so it serves only where it
    still wins.
    """

    backend = "onnx"
    device = "cpu"

    def __init__(
        self,
        path: Path,
        dtype: str,
        threads: int,
        lock: CpuLock | None = None,
        variant: str = "",
        per_row: bool | None = None,
    ) -> None:
        """`per_row` defaults to True for int8 (the dynamic recipes) and False otherwise."""
        import onnxruntime as ort

        self.per_row = dtype == "int8" if per_row is None else per_row
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if self.per_row else threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No thread left spinning after a query: DuckDB and the other models get the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.path = path
        self.dtype = dtype
        self.variant = variant
        self._lock: Any = lock
        self._rows = ThreadPoolExecutor(threads, "textlens-int8") if self.per_row else None

    def __call__(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, casing_ids: np.ndarray | None
    ) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "casing_ids" in self.inputs:
            if casing_ids is None:
                raise ValueError("this network needs casing_ids")
            feeds["casing_ids"] = casing_ids
        with self._lock or contextlib.nullcontext():
            if not self.per_row:
                (out,) = self.session.run(None, feeds)
                return np.asarray(out, dtype=np.float32)
            return self._row_by_row(feeds)

    def _row_by_row(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Each row alone, cut to its own length; per-token outputs padded back with zeros."""
        assert self._rows is not None
        mask = feeds["attention_mask"]
        width = mask.shape[1]
        lengths = [max(int(n), 1) for n in mask.sum(axis=1).tolist()]

        def run(i: int) -> np.ndarray:
            n = lengths[i]
            (out,) = self.session.run(None, {k: v[i : i + 1, :n] for k, v in feeds.items()})
            row = np.asarray(out[0], dtype=np.float32)
            if row.ndim >= 2 and row.shape[0] == n and n < width:  # per token: (n, labels)
                row = np.pad(row, [(0, width - n)] + [(0, 0)] * (row.ndim - 1))
            return row

        longest_first = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        done = dict(zip(longest_first, self._rows.map(run, longest_first), strict=True))
        return np.stack([done[i] for i in range(len(lengths))])
