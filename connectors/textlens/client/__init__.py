"""The textlens Python client, blocking (`Client`) and asyncio (`AsyncClient`).

Light on purpose: it never imports torch, transformers or the server, so it
installs into BI environments. `Client` and `AsyncClient` (and with them grpc,
protobuf and numpy) load on first access, so the runtime can share the errors
and result types of this package without paying for grpc.

    from textlens.client import Client
    with Client("127.0.0.1:50051") as client:
        client.sentiment(["great product", None])  # [SentimentResult(...), None]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textlens.contract.errors import (
    DeadlineExceeded,
    InvalidInput,
    ModelLoadError,
    Overloaded,
    PermissionDenied,
    ServerUnavailable,
    ShuttingDown,
    TextlensError,
    TextTooLong,
    TooManyTexts,
    Unauthenticated,
    UnknownModel,
    WrongTask,
)
from textlens.contract.limits import MAX_MESSAGE_BYTES
from textlens.contract.results import (
    ClassifyResult,
    Entity,
    LanguageResult,
    ModelInfo,
    ModelReload,
    NotScored,
    SentimentResult,
    Truncation,
)

if TYPE_CHECKING:
    from textlens.client.aio import AsyncClient
    from textlens.client.sync import Client
    from textlens.client.tls import TLS

__all__ = [
    "MAX_MESSAGE_BYTES",
    "TLS",
    "AsyncClient",
    "ClassifyResult",
    "Client",
    "DeadlineExceeded",
    "Entity",
    "InvalidInput",
    "LanguageResult",
    "ModelInfo",
    "ModelLoadError",
    "ModelReload",
    "NotScored",
    "Overloaded",
    "PermissionDenied",
    "SentimentResult",
    "ServerUnavailable",
    "ShuttingDown",
    "TextTooLong",
    "TextlensError",
    "TooManyTexts",
    "Truncation",
    "Unauthenticated",
    "UnknownModel",
    "WrongTask",
]


def __getattr__(name: str) -> Any:
    """Import the clients on first access (PEP 562), see the module docstring."""
    if name == "Client":
        from textlens.client.sync import Client

        return Client
    if name == "AsyncClient":
        from textlens.client.aio import AsyncClient

        return AsyncClient
    if name == "TLS":
        from textlens.client.tls import TLS

        return TLS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
