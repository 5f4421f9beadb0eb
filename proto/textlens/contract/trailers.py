"""The gRPC trailing-metadata keys of the wire contract, defined once.

Every front that answers a call (the grpc.aio servicer, the Ray Serve replica) sets them,
and the clients read them, so the spelling lives here.
"""

from __future__ import annotations

#: The textlens error class of a failed call, e.g. "UnknownModel"; the status code is
#: only the fallback (older servers, proxies, failures the client detects itself).
ERROR_TRAILER = "textlens-error"

#: Which Ray Serve replica answered (the clients count answers per replica).
REPLICA_TRAILER = "textlens-replica"
