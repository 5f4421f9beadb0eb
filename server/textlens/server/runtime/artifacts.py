"""The textlens delta artifact: a small fine-tune stored on top of a base model.

A delta directory holds `textlens_model.json` (task, labels, base model and
its checksum, LoRA shape, training record) and `delta.safetensors` (LoRA
factors plus the fully trained tensors such as the classification head). It
is what `textlens train` writes and what the committed default models are,
and it stays a few MB however large the base is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from textlens.server.runtime.lora import LoRALinear, lora_state

META_FILE = "textlens_model.json"
WEIGHTS_FILE = "delta.safetensors"
FORMAT = "textlens-delta/1"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class DeltaMeta:
    """What `textlens_model.json` records."""

    task: str
    kind: str
    base_source: str
    base_sha256: str
    id2label: dict[int, str]
    lora_r: int
    lora_alpha: float
    casing: bool = False
    max_length: int = 128
    training: dict[str, Any] = field(default_factory=dict)
    #: The languages the model reads (ISO 639 codes); None: not declared (files written
    #: before the field existed), which `textlens.server.language.policy` resolves.
    languages: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "task": self.task,
            "kind": self.kind,
            "base": {"source": self.base_source, "sha256": self.base_sha256},
            "id2label": {str(k): v for k, v in sorted(self.id2label.items())},
            "lora": {"r": self.lora_r, "alpha": self.lora_alpha},
            "casing": self.casing,
            "max_length": self.max_length,
            "training": self.training,
            **({} if self.languages is None else {"languages": list(self.languages)}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeltaMeta:
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported delta format {data.get('format')!r}, expected {FORMAT}")
        return cls(
            task=data["task"],
            kind=data["kind"],
            base_source=data["base"]["source"],
            base_sha256=data["base"]["sha256"],
            id2label={int(k): v for k, v in data["id2label"].items()},
            lora_r=int(data["lora"]["r"]),
            lora_alpha=float(data["lora"]["alpha"]),
            casing=bool(data.get("casing", False)),
            max_length=int(data.get("max_length", 128)),
            training=dict(data.get("training", {})),
            languages=None if data.get("languages") is None else list(data["languages"]),
        )


def is_delta_dir(path: Path) -> bool:
    return (path / META_FILE).is_file()


def read_meta(path: Path) -> DeltaMeta:
    return DeltaMeta.from_json(json.loads((path / META_FILE).read_text(encoding="utf-8")))


def trained_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """LoRA factors plus every other trainable parameter (head, casing), by name."""
    out = lora_state(model)
    lora_owned = {
        f"{name}.{p}"
        for name, module in model.named_modules()
        if isinstance(module, LoRALinear)
        for p in ("lora_A", "lora_B")
    }
    for name, param in model.named_parameters():
        if param.requires_grad and name not in lora_owned:
            out[name] = param.detach().cpu().contiguous()
    return out


def save_delta(directory: Path, model: nn.Module, meta: DeltaMeta) -> None:
    """Write the delta of a LoRA-wrapped TaskNetwork to `directory`."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.float() for k, v in trained_tensors(model).items()}
    save_file(tensors, str(directory / WEIGHTS_FILE))
    (directory / META_FILE).write_text(json.dumps(meta.to_json(), indent=2) + "\n", "utf-8")


def load_delta_tensors(directory: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(directory / WEIGHTS_FILE))
