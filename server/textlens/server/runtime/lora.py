"""Low-rank adapters (LoRA) for the encoder's linear layers.

The project commits only small artifacts, so fine-tuned defaults are stored as
LoRA factors plus the task head. At load time the factors are merged into the
base weights, so serving a fine-tuned model costs exactly what the base costs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

#: Linear layers of a BERT-family encoder that get adapters by default.
DEFAULT_TARGETS: tuple[str, ...] = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update B @ A."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad = False
        self.r = r
        self.scale = alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = (self.dropout(x) @ self.lora_A.t()) @ self.lora_B.t()
        out: torch.Tensor = self.base(x) + update * self.scale
        return out


def _matches(name: str, targets: Iterable[str]) -> bool:
    return any(name == t or name.endswith("." + t) for t in targets)


def add_lora(
    model: nn.Module,
    r: int,
    alpha: float,
    targets: Iterable[str] = DEFAULT_TARGETS,
    dropout: float = 0.0,
    scope: str = "encoder.",
) -> list[str]:
    """Wrap every targeted nn.Linear under `scope` in a LoRALinear; return their names."""
    targets = tuple(targets)
    wrapped: list[str] = []
    for name, module in list(model.named_modules()):
        if not isinstance(module, nn.Linear) or scope not in name or not _matches(name, targets):
            continue
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, LoRALinear(module, r, alpha, dropout))
        wrapped.append(name)
    if not wrapped:
        raise ValueError(f"no linear layer matched the LoRA targets {targets}")
    return wrapped


def lora_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter factors, keyed `<linear name>.lora_A|lora_B`."""
    out: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            out[f"{name}.lora_A"] = module.lora_A.detach().cpu().contiguous()
            out[f"{name}.lora_B"] = module.lora_B.detach().cpu().contiguous()
    return out


def unwrap_lora(model: nn.Module) -> None:
    """Replace every LoRALinear by a plain linear with the update merged in."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            with torch.no_grad():
                module.base.weight += (module.lora_B @ module.lora_A) * module.scale
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, module.base)


def merge_lora_factors(
    model: nn.Module, factors: dict[str, torch.Tensor], r: int, alpha: float
) -> int:
    """Add saved factors into a plain model's linear weights; return how many were merged.

    A fully fine-tuned delta (r = 0) has no factors: its weights load as plain tensors.
    """
    if not factors:
        return 0
    scale = alpha / r
    merged = 0
    for key, a in factors.items():
        if not key.endswith(".lora_A"):
            continue
        name = key[: -len(".lora_A")]
        b = factors[f"{name}.lora_B"]
        linear = model.get_submodule(name)
        if not isinstance(linear, nn.Linear):
            raise ValueError(f"LoRA factor for {name} does not target a linear layer")
        with torch.no_grad():
            linear.weight += (b.to(linear.weight.dtype) @ a.to(linear.weight.dtype)) * scale
        merged += 1
    return merged
