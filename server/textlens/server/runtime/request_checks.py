"""Checks the Analyzer makes before any work: label lists and impossible lengths.

Each refuses with the error that says what to change, before a text is tokenized or
queued, so a hostile or mistaken request costs microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textlens.contract.errors import InvalidInput
from textlens.server.runtime.registry import ServedModel
from textlens.server.runtime.tasks import CHARS_PER_TOKEN_CAP, too_long

#: Candidate labels of one zero-shot Classify.
MAX_LABELS = 256
#: Characters in one candidate label (a label is a class name, not a document).
MAX_LABEL_CHARS = 200


def zero_shot_hypotheses(labels: list[str], template: str) -> list[str]:
    """The hypotheses a zero-shot Classify embeds, one per candidate label, after checking
    the labels and the template (each limit is a clear InvalidInput)."""
    if len(labels) < 2:
        raise InvalidInput("zero-shot classification needs at least two candidate labels")
    if len(labels) > MAX_LABELS:
        raise InvalidInput(f"{len(labels)} candidate labels; the limit is {MAX_LABELS}")
    if any(not label.strip() for label in labels):
        raise InvalidInput("candidate labels must not be empty")
    longest = max(len(label) for label in labels)
    if longest > MAX_LABEL_CHARS:
        raise InvalidInput(
            f"a candidate label has {longest} characters; the limit is {MAX_LABEL_CHARS}"
        )
    if len(set(labels)) != len(labels):
        raise InvalidInput(f"candidate labels must be distinct: {labels}")
    if template and "{}" not in template:
        raise InvalidInput(
            f"hypothesis_template {template!r} has no '{{}}' for the label, "
            "e.g. 'This text is about {}.'"
        )
    return [template.replace("{}", label) if template else label for label in labels]


def refuse_cheaply(model: ServedModel, inputs: Sequence[Any]) -> None:
    """Under `error`, refuse a text no tokenization could fit, before tokenizing it.

    A text of more than `CHARS_PER_TOKEN_CAP` characters per allowed token is
    refused by its length alone, so a request of a few multi-megabyte texts
    costs microseconds instead of holding the model's worker for seconds.
    """
    limit = model.model.loaded.max_length
    cap = limit * CHARS_PER_TOKEN_CAP
    for i, item in enumerate(inputs):
        text = item[0] if isinstance(item, tuple) else item
        if len(text) > cap:
            raise too_long(
                i,
                f"has {len(text)} characters; model {model.name} reads at most {limit} tokens "
                f"(texts over {cap} characters are refused without tokenizing). "
                "Shorten it or use truncation=truncate",
            )
