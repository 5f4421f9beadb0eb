"""Batched prediction with a task network: what training's evaluations and `textlens eval` use.

Kept apart from the fine-tuning loop: the same encoding (texts, or (text,
target) pairs read as the served aspect model reads them) serves training
batches, validation passes and evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from textlens.server.runtime.aspects import pair_input
from textlens.server.runtime.networks import TaskNetwork, casing_class


@torch.inference_mode()
def predict_probs(
    network: TaskNetwork,
    tokenizer: Any,
    texts: Sequence[Any],
    max_length: int,
    device: torch.device,
    batch_size: int = 128,
) -> torch.Tensor:
    """Class probabilities (len(texts), labels); a (first, second) pair is encoded as a pair."""
    order = sorted(range(len(texts)), key=lambda i: len(str(texts[i])))
    out = torch.zeros(0)
    for k in range(0, len(order), batch_size):
        idx = order[k : k + batch_size]
        enc = encode_texts(tokenizer, [texts[i] for i in idx], max_length)
        probs = network(enc["input_ids"].to(device), enc["attention_mask"].to(device))
        probs = probs.float().softmax(-1).cpu()
        if not out.numel():
            out = torch.zeros(len(texts), probs.shape[-1])
        out[idx] = probs
    return out


def encode_texts(tokenizer: Any, texts: Sequence[Any], max_length: int) -> Any:
    """Padded model inputs of texts or (text, target) pairs; a pair truncates only its text.

    A pair is read as the served aspect model reads it (`aspects.pair_input`).
    """
    if texts and isinstance(texts[0], tuple):
        pairs = [pair_input(text, target) for text, target in texts]
        return tokenizer(
            [a for a, _ in pairs],
            [b for _, b in pairs],
            padding=True,
            truncation="only_first",
            max_length=max_length,
            return_tensors="pt",
        )
    return tokenizer(
        list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )


def predict_texts(
    network: TaskNetwork,
    tokenizer: Any,
    texts: Sequence[str],
    id2label: dict[int, str],
    max_length: int,
    device: torch.device,
    batch_size: int = 128,
) -> list[str]:
    if not texts:
        return []
    probs = predict_probs(network, tokenizer, texts, max_length, device, batch_size)
    return [id2label[p] for p in probs.argmax(-1).tolist()]


def encode_words(
    tokenizer: Any, sentences: Sequence[list[str]], max_length: int
) -> tuple[dict[str, torch.Tensor], list[list[int | None]]]:
    """Tokenise pre-split words; return model inputs (with casing ids) and word ids per token."""
    enc = tokenizer(
        list(sentences),
        is_split_into_words=True,
        padding=True,
        truncation=True,
        max_length=max_length,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    word_ids = [enc.word_ids(i) for i in range(len(sentences))]
    casing = torch.zeros_like(enc["input_ids"])
    for row, (words, wids) in enumerate(zip(sentences, word_ids, strict=True)):
        for col, w in enumerate(wids):
            if w is not None:
                start, end = enc["offset_mapping"][row, col].tolist()
                casing[row, col] = casing_class(words[w][start:end])
    inputs = {
        "input_ids": enc["input_ids"],
        "attention_mask": enc["attention_mask"],
        "casing_ids": casing,
    }
    return inputs, word_ids


def token_labels(tags: list[str], wids: list[int | None], label2id: dict[str, int]) -> list[int]:
    """Per-token label ids: the word's tag on its first piece, I- (or O) on the rest."""
    out: list[int] = []
    previous: int | None = None
    for w in wids:
        if w is None:
            out.append(-100)
        elif w != previous:
            out.append(label2id[tags[w]])
        else:
            tag = tags[w]
            out.append(label2id["I-" + tag[2:]] if tag != "O" else label2id["O"])
        previous = w
    return out


@torch.inference_mode()
def predict_word_tags(
    network: TaskNetwork,
    tokenizer: Any,
    sentences: Sequence[list[str]],
    id2label: dict[int, str],
    max_length: int,
    device: torch.device,
    batch_size: int = 64,
) -> list[list[str]]:
    """Word-level tags: each word takes the prediction of its first piece (O past truncation)."""
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    out: list[list[str]] = [[] for _ in sentences]
    for k in range(0, len(order), batch_size):
        idx = order[k : k + batch_size]
        inputs, word_ids = encode_words(tokenizer, [sentences[i] for i in idx], max_length)
        if network.casing is None:
            inputs.pop("casing_ids")
        logits = network(**{n: t.to(device) for n, t in inputs.items()})
        preds = logits.argmax(-1).tolist()
        for row, i in enumerate(idx):
            tags = ["O"] * len(sentences[i])
            seen: set[int] = set()
            for col, w in enumerate(word_ids[row]):
                if w is not None and w not in seen:
                    seen.add(w)
                    tags[w] = id2label[preds[row][col]]
            out[i] = tags
    return out
