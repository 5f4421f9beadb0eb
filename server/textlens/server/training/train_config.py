"""Training hyper-parameters: one dataclass every trainer and command reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Hyper-parameters; the defaults train on 2 CPU cores in minutes."""

    base: str = "builtin:minilm"
    epochs: int = 3
    batch_size: int = 32
    lr: float = 6e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    lora_r: int = 16
    lora_alpha: float = 32.0
    max_length: int = 128
    seed: int = 13
    casing: bool = False
    device: str = "auto"
    #: Validation passes per epoch; the best one's weights are kept (2: the recipe study).
    evals_per_epoch: int = 2
    patience: int = 2
    #: "lora" trains adapters plus the head (a few-MB artifact); "full" trains every weight.
    method: str = "lora"
    #: Optimizer step every `grad_accum` batches (an effective batch of batch_size x grad_accum).
    grad_accum: int = 1
    #: "auto" weights the loss by inverse class frequency when the largest class has 1.5x
    #: the rows of the smallest (balanced data keeps the plain loss); "none" or "balanced".
    class_weight: str = "auto"
    #: A textlens delta directory to continue from (its adapters/weights and head); its
    #: base, method, LoRA shape, casing and labels then fix this run's.
    init_from: str = ""
