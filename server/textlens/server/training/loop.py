"""The optimisation loop every trainer shares: batches, AdamW with warm-up, best-on-validation.

Why a module of its own: the text, token and multi-source trainers differ in
how rows are encoded, batched and scored; the loop (gradient accumulation,
the schedule, early stopping, keeping the best evaluation's tensors, the
progress bar and the curves) is the same and lives here once.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from textlens.server.runtime.artifacts import trained_tensors
from textlens.server.runtime.networks import TaskNetwork
from textlens.server.training.train_config import TrainConfig

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def length_batches(
    lengths: Sequence[int],
    batch_size: int,
    rng: random.Random,
    rows: list[int] | None = None,
) -> list[list[int]]:
    """Shuffled batches of similar-length rows (less padding, same randomness per epoch).

    `rows`: the row indices of this epoch (a mixture's sampled rows); default every row once.
    """
    order = list(range(len(lengths))) if rows is None else rows
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: lengths[j])
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def class_weights(labels: Sequence[str], classes: Sequence[str], mode: str) -> torch.Tensor | None:
    """Inverse-frequency loss weights (mean 1), or None for the plain loss.

    Why "auto": a rare class otherwise barely moves the loss and macro-F1
    suffers, but weighting balanced data only adds noise (and would change the
    committed defaults' training), so it switches on at a 1.5x imbalance.
    """
    if mode not in ("auto", "balanced", "none"):
        raise ValueError(f"class_weight must be auto, balanced or none, not {mode!r}")
    counts = [sum(1 for x in labels if x == c) for c in classes]
    if mode == "none" or not counts or min(counts) == 0:
        return None
    if mode == "auto" and max(counts) < 1.5 * min(counts):
        return None
    weights = torch.tensor([len(labels) / (len(classes) * n) for n in counts])
    return weights / weights.mean()


def fit(
    network: TaskNetwork,
    cfg: TrainConfig,
    n_rows: int,
    make_batches: Callable[[random.Random], list[list[int]]],
    encode: Callable[[list[int]], tuple[dict[str, torch.Tensor], torch.Tensor]],
    evaluate: Callable[[], tuple[float, dict[str, Any]]],
    device: torch.device,
    loss_weight: torch.Tensor | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> tuple[dict[str, Any], list[dict[str, float]], list[dict[str, float]]]:
    """Train; keep the trainable tensors of the best validation score.

    `loss_fn(logits, labels)` replaces the (weighted) cross-entropy; the
    multi-source trainer (`training.mixture`) uses it for rows that carry
    only a polarity. Returns the best evaluation's report, the validation curve (one point per
    evaluation) and the training-loss curve (about 20 points per epoch).
    """
    from tqdm import tqdm

    rng = random.Random(cfg.seed)
    params = [p for p in network.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(n_rows / cfg.batch_size)
    accum = max(1, cfg.grad_accum)
    total = math.ceil(steps_per_epoch / accum) * cfg.epochs
    warmup = max(1, int(total * cfg.warmup_fraction))

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    weight = None if loss_weight is None else loss_weight.to(device)
    plain = nn.CrossEntropyLoss(weight=weight, ignore_index=-100)

    def plain_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = plain(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        return out

    compute_loss = loss_fn or plain_loss
    autocast = device.type == "cuda"
    eval_points = {
        min(steps_per_epoch, round(steps_per_epoch * (k + 1) / cfg.evals_per_epoch))
        for k in range(cfg.evals_per_epoch)
    }
    best_score = -1.0
    best_state: dict[str, torch.Tensor] = {}
    best_report: dict[str, Any] = {}
    curve: list[dict[str, float]] = []
    losses: list[dict[str, float]] = []
    loss_every = max(1, steps_per_epoch // 20)
    bad_evals = 0
    step = 0
    running = 0.0
    started = time.monotonic()
    for epoch in range(cfg.epochs):
        network.train()
        batches = make_batches(rng)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", mininterval=2.0)
        for i, batch in enumerate(bar, start=1):
            inputs, labels = encode(batch)
            inputs = {k: v.to(device) for k, v in inputs.items()}
            labels = labels.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = network(**inputs)
                # Any: torch's stubs leave Tensor.backward untyped.
                loss: Any = compute_loss(logits.float(), labels)
            (loss / accum).backward()
            if i % accum == 0 or i == len(batches):
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            step += 1
            # One running mean across epochs: restarting it at each epoch drew a cliff
            # at every epoch boundary in training_curve.png that was no real event.
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            bar.set_postfix(loss=f"{running:.4f}", valid=f"{max(best_score, 0):.4f}")
            if i % loss_every == 0:
                losses.append({"epoch": epoch + i / steps_per_epoch, "loss": running})
            if i in eval_points:
                network.eval()
                score, report = evaluate()
                network.train()
                point = {
                    "epoch": epoch + i / steps_per_epoch,
                    "step": step,
                    "loss": running,
                    "score": score,
                }
                curve.append(point)
                log.info("validation at step %d: score %.4f (loss %.4f)", step, score, running)
                print(
                    f"  step {step}: validation score {score:.4f}, train loss {running:.4f}",
                    flush=True,
                )
                if score > best_score:
                    best_score, best_report, bad_evals = score, report, 0
                    best_state = {k: v.clone() for k, v in trained_tensors(network).items()}
                else:
                    bad_evals += 1
        if bad_evals >= cfg.patience:
            print(
                f"  early stop after epoch {epoch + 1}: no better score in {bad_evals} evaluations"
            )
            break
    # Restore the best trainable tensors into the LoRA-wrapped network.
    with torch.no_grad():
        params_by_name = dict(network.named_parameters())
        for name, value in best_state.items():
            params_by_name[name].copy_(value.to(params_by_name[name].device))
    best_report["train_seconds"] = round(time.monotonic() - started, 1)
    return best_report, curve, losses
