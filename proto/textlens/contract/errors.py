"""The one error hierarchy of textlens, shared by the runtime and the client.

The runtime raises these; the gRPC layer maps each class to a status code in a
single table (`textlens.contract.status`), and the client maps codes
back to the same classes. Every message says what happened and what to do.
It lives in the torch-free client package so both sides can import it.
"""

from __future__ import annotations


class TextlensError(Exception):
    """Base class of every error textlens reports to a caller."""


class InvalidInput(TextlensError):
    """The request cannot be served as sent (bad texts, options or sizes)."""


class UnknownModel(InvalidInput):
    """No served model has that name."""


class WrongTask(InvalidInput):
    """The named model serves another task."""


class TextTooLong(InvalidInput):
    """A text is longer than the model's max_length under the `error` policy."""


class TooManyTexts(InvalidInput):
    """The request carries more texts than the server accepts in one call."""


class AnswerTooLarge(InvalidInput):
    """The answer would exceed the gRPC message limit: send fewer texts (or labels) per call."""


class Overloaded(TextlensError):
    """The model's queue is full; the caller should back off and retry."""


class ShuttingDown(TextlensError):
    """The server is stopping and accepts no new work."""


class DeadlineExceeded(TextlensError):
    """The caller's deadline passed before the work was computed."""


class ServerUnavailable(TextlensError):
    """The client could not reach the server (down, wrong address, network)."""


class ModelLoadError(TextlensError):
    """A configured model could not be loaded (missing files, bad checksum...)."""


class Unauthenticated(TextlensError):
    """An admin RPC came without the operator token, or with a wrong one."""


class PermissionDenied(TextlensError):
    """The call is not allowed on this server (e.g. its admin RPCs are disabled)."""
