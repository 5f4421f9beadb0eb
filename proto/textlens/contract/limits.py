"""Defaults both ends must agree on, importable without grpc, numpy or torch.

The server imports MAX_MESSAGE_BYTES too, so a batch the client may send is a
batch the server accepts (gRPC's own 4 MiB default is too small for 2048 texts).
"""

from __future__ import annotations

#: gRPC send/receive limit on both ends: 2048 long texts or their vectors fit.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

#: Environment variable naming the server when no target is passed.
TARGET_ENV = "TEXTLENS_TARGET"

#: Where `textlens serve` listens by default.
DEFAULT_TARGET = "127.0.0.1:50051"

#: Texts per RPC: the DuckDB chunk size, so one SQL chunk is one call.
DEFAULT_BATCH_SIZE = 2048

#: Seconds a client call may take, retries and all batches included (the Python client).
DEFAULT_TIMEOUT = 60.0

#: Seconds one remote SQL chunk may take, retries and reconnect included (the DuckDB
#: functions, the dialect, `textlens sql/enrich`): a chunk is up to 2,048 rows of long text.
SQL_TIMEOUT = 300.0

#: Retries of an UNAVAILABLE or RESOURCE_EXHAUSTED answer, and the first pause.
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF = 0.1

#: Longest pause between two attempts, so a large `retries` does not sleep for minutes.
MAX_BACKOFF = 5.0

#: The embedding cosine at and above which two texts count as near-copies, by default:
#: `near_duplicates()` in SQL and `textlens monitor --dedupe` (docs/search.md).
NEAR_DUPLICATE_THRESHOLD = 0.9
