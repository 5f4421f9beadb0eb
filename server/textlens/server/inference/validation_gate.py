"""Paths a model's own validation ruled out: `validation_gate.json` next to its weights.

The probe set tells whether a precision agrees with float32; only labelled
validation rows tell what it costs in accuracy. `scripts/backend_accuracy.py`
measures every path of a model on its held-out rows and writes this file
(per model version); `auto` then leaves out a path that lost more than
`max_loss_points`, whatever the probe agreement says. Explicit choices are
still honoured (with a warning in the reason).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE = "validation_gate.json"
#: `models/` folder of the base encoder's gate (a data folder: not an importable name).
BASE_GATE_DIR = "minilm-encoder"
#: The suffix of the 7-bit-weight int8 recipes (`Int8Recipe.name`).
REDUCE_RANGE = "-reduce-range"


def model_directory(source: str) -> Path | None:
    from textlens.server.runtime.loading import (
        BASE_BUILTIN,
        BUILTIN_PREFIX,
        builtin_models_dir,
        resolve_directory,
    )

    if source == BASE_BUILTIN:  # its weights live in their own package; its gate lives here
        return builtin_models_dir() / BASE_GATE_DIR
    if source.startswith(BUILTIN_PREFIX):
        return builtin_models_dir() / source[len(BUILTIN_PREFIX) :]
    try:
        return resolve_directory(source)
    except Exception:
        return None


def ruled_out(source: str, version: str) -> dict[str, str]:
    """Path name (`onnx/int8 per-tensor`) -> why, for the paths validation ruled out."""
    directory = model_directory(source)
    if directory is None or not (directory / FILE).is_file():
        return {}
    try:
        gate: dict[str, Any] = json.loads((directory / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", directory / FILE, exc)
        return {}
    if gate.get("version") not in (None, version):
        return {}  # measured on another version of the weights
    paths: dict[str, Any] = gate.get("paths", {})
    out = {
        path: f"{path} left out by validation: {entry.get('why', 'ruled out')} ({FILE})"
        for path, entry in paths.items()
        if not entry.get("allowed", True)
    }
    # x86 without VNNI quantizes with 7-bit weights (`-reduce-range`, candidates.py): fewer
    # weight bits than the 8-bit recipe validation measured, so no more accurate. A recipe
    # ruled out takes its 7-bit twin with it, unless the file measured and allowed the twin.
    for path, why in list(out.items()):
        twin = path + REDUCE_RANGE
        if path.startswith("onnx/int8 ") and not path.endswith(REDUCE_RANGE) and twin not in paths:
            out[twin] = f"{twin} left out: 7-bit weights, and {why}"
    return out
