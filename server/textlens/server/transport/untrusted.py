"""Request strings are untrusted: what of them may reach a metric label or a log line.

A Prometheus label value lives as long as the process, so a label taken from a
request lets any caller, even one without a token, grow the server's memory
and every scrape without bound (issue 22: 3,000 unauthenticated calls with
unique 1 KB model names grew /metrics from 17 KB to 13 MB). Labels are
therefore the name of a served model (a set the operator configured) or
`unknown`, never what the request said.

A log line is read by people and parsers: a request string written raw lets a
caller forge lines (`\\n` then `status=OK ... identity=ops`), plant NUL bytes
and write megabytes per call. Where a request string must be shown it is cut
to `SHOWN_CHARS` and escaped like a Python literal (`shown`).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from textlens.server.language.detector import MODEL_NAME as LANGUAGE_MODEL
from textlens.server.runtime.registry import ModelRegistry

#: The label of calls that named no served model (or were refused before naming one).
UNKNOWN = "unknown"
#: At most this many characters of a request string reach a log line.
SHOWN_CHARS = 64
#: The task whose default model answers an RPC that names no model.
RPC_TASK = {
    "Sentiment": "sentiment",
    "AspectSentiment": "aspect",
    "Entities": "ner",
    "Embed": "embed",
}
#: Outcomes decided before the request's model was looked at.
REFUSED_UNSEEN = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})


#: Escaped besides what `repr` escapes, so a shown string is one `key=value` token.
_TOKEN_BREAKERS = str.maketrans({" ": "\\x20", "=": "\\x3d"})


def shown(value: str, limit: int = SHOWN_CHARS, *, token: bool = True) -> str:
    """`value` as a quoted, escaped literal of at most `limit` characters of it.

    `repr` escapes newlines, NUL and every other non-printable character
    (control characters, bidi overrides, line separators), so the result is
    one line whatever the caller sent. With `token` (for `key=value` lines)
    spaces and `=` are escaped too, so it is one token that a parser cannot
    read a forged field from. A longer value says how much was cut.
    """
    head = repr(value[:limit])
    if token:
        head = head.translate(_TOKEN_BREAKERS)
    if len(value) > limit:
        head += f"...+{len(value) - limit}"  # how many characters were cut
    return head


def _task(rpc: str, request: Any) -> str | None:
    if rpc == "Classify":  # zero-shot runs on an embed model; no labels: a fine-tuned one
        return "embed" if len(getattr(request, "labels", ()) or ()) else "classify"
    return RPC_TASK.get(rpc)


def requested_model(request: Any) -> str:
    """The model name the request asked for ("" when none, or when it did not parse)."""
    name = getattr(request, "model", "") if isinstance(request, Message) else ""
    return name if isinstance(name, str) else ""


def served_name(
    registry: ModelRegistry, rpc: str, request: Any, response: Any, outcome: str
) -> str:
    """The served model a call was for: a registry name, `UNKNOWN`, or "" (no model RPC).

    The response names the model that answered. A failed call counts against
    the model its request resolves to (its name if served, else its task's
    default); a name nobody serves, a request that did not parse and a call
    refused before its request was read are `UNKNOWN`.
    """
    answered = getattr(response, "model", "")
    if isinstance(answered, str) and answered:
        return answered
    if rpc == "Language":  # one detector: its fixed served name, whatever the outcome
        return LANGUAGE_MODEL
    task = _task(rpc, request)
    if task is None:
        return ""  # ListModels, ReloadModels: not about one model
    if outcome in REFUSED_UNSEEN or not isinstance(request, Message):
        return UNKNOWN
    asked = requested_model(request)
    if asked:
        return asked if asked in registry.models else UNKNOWN
    return registry.defaults.get(task, UNKNOWN)
