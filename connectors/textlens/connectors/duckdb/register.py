"""`register(con)`: every textlens model as typed DuckDB functions on one connection.

Mode: `target` (or $TEXTLENS_TARGET) -> remote, a textlens server over gRPC;
otherwise embedded, the runtime in this process. Registration reads the model
list once (embed() needs its vector size as a type), registers one private
arrow UDF per function and temporary macros that give each function its
overloads, and returns a `Registration` handle with the counters.

The private UDF names carry a token unique to the registration: DuckDB keeps
Python UDFs in the database *instance*, which every connection to one file in
one process shares, while temp macros belong to one connection. Unique names
let two connections to the same file each register (with their own options)
without "already exists" errors or one closing the other's functions.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from textlens.connectors.duckdb.backend import Backend
from textlens.connectors.duckdb.cache import CacheStats, ResultCache
from textlens.connectors.duckdb.cached_compute import CachedCompute
from textlens.connectors.duckdb.functions import SqlFunction, macro_sql, sql_functions
from textlens.connectors.duckdb.search.ann import ANN_HITS_TYPE, AnnSearcher
from textlens.connectors.duckdb.search.macros import (
    NEAR_DUPLICATES_TYPE,
    SEARCH_FUNCTIONS,
    macro_statements,
    near_duplicates_udf,
    owned_search_macros,
)
from textlens.connectors.duckdb.udf import ChunkListener, make_udf
from textlens.contract.limits import SQL_TIMEOUT, TARGET_ENV
from textlens.contract.results import TRUNCATIONS, ModelInfo, Truncation

if TYPE_CHECKING:
    import duckdb

    from textlens.client.tls import TLSArg

Mode = Literal["auto", "embedded", "remote"]

#: Seconds one remote chunk may take, retries included (a 2048-row chunk on a busy CPU server).
DEFAULT_TIMEOUT = SQL_TIMEOUT
#: How often a remote registration re-reads model fingerprints: a server may be redeployed
#: or hot-reload a new registered version (ReloadModels), and cache keys carry the
#: fingerprint, so this bounds how long cached answers of a replaced version can be served.
#: One ListModels RPC per interval is negligible next to a chunk's model calls.
VERSION_TTL = 2.0
#: The `models=` keys: the function families (sentiment covers sentiment_score and _probs).
MODEL_KEYS = ("sentiment", "aspect", "entities", "embed", "classify")
_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Registration:
    """The functions registered on one connection, their backend and counters."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        compute: CachedCompute,
        functions: dict[str, SqlFunction],
        private_names: dict[str, str],
        *,
        owns_backend: bool,
    ) -> None:
        self.con = con
        self.compute = compute
        #: Public SQL name -> function.
        self.functions = functions
        #: Public SQL name -> the private UDF its macro calls (unique to this registration).
        self.private_names = private_names
        self._owns_backend = owns_backend
        #: The search table macros (docs/search.md) and the private UDF name that marks
        #: them as this registration's.
        self.search_macros: list[str] = []
        self.search_marker = ""
        #: The statements that create them (the SQLAlchemy dialect runs them per connection).
        self.search_sql: list[str] = []
        self._listeners: list[ChunkListener] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def backend(self) -> Backend:
        return self.compute.backend

    @property
    def mode(self) -> str:
        """`embedded` or `remote`."""
        return self.backend.mode

    @property
    def cache(self) -> ResultCache:
        return self.compute.cache

    def stats(self) -> CacheStats:
        """Rows seen, duplicates folded, cache hits/misses and texts computed so far."""
        return self.compute.stats()

    def reset_stats(self) -> None:
        self.compute.reset_stats()

    def models(self) -> list[ModelInfo]:
        """The models behind the functions (fresh from the backend)."""
        return self.compute.resolver.models(refresh=True)

    def add_listener(self, listener: ChunkListener) -> None:
        """Call `listener(function, rows)` after every chunk a function finishes (progress bars)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: ChunkListener) -> None:
        self._listeners.remove(listener)

    @property
    def listeners(self) -> list[ChunkListener]:
        return self._listeners

    def unregister(self) -> None:
        """Drop the macros and UDFs from the connection (it stays open).

        A macro that a later registration on the same connection replaced is
        left alone: it calls that registration's functions, not these.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            ours = {
                name
                for name, definition in self.con.execute(
                    "SELECT function_name, macro_definition FROM duckdb_functions() "
                    "WHERE database_name = 'temp' AND function_type = 'macro'"
                ).fetchall()
                if name in self.private_names and self.private_names[name] in str(definition)
            }
            for name in ours:
                self.con.execute(f"DROP MACRO IF EXISTS temp.{name}")
            for name in owned_search_macros(self.con, self.search_marker, self.search_macros):
                self.con.execute(f"DROP MACRO TABLE IF EXISTS temp.{name}")
            for name in self.private_names.values():
                self.con.remove_function(name)
        except Exception:  # a closed connection has nothing left to drop
            return

    def close(self) -> None:
        """Unregister, and close the backend if `register` created it."""
        self.unregister()
        if self._owns_backend:
            self.backend.close()

    def __enter__(self) -> Registration:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Registration({self.backend.describe()}, functions={sorted(self.functions)}, "
            f"stats={self.stats().as_dict()})"
        )


def choose_backend(
    target: str | Sequence[str] | None,
    mode: Mode,
    config: str | Path | None,
    timeout: float,
    token: str | None = None,
    tls: TLSArg = None,
    inflight: int | None = None,
) -> Backend:
    """The backend `register` uses for these arguments (see `register`)."""
    if mode not in ("auto", "embedded", "remote"):
        raise ValueError(f"mode must be auto, embedded or remote, not {mode!r}")
    remote = mode == "remote" or (mode == "auto" and bool(target or os.environ.get(TARGET_ENV)))
    if remote:
        if config is not None:
            raise ValueError("config= configures the embedded runtime; a server has its own")
        from textlens.connectors.duckdb.remote import RemoteBackend

        return RemoteBackend.connect(
            target, timeout=timeout, token=token, tls=tls, inflight=inflight
        )
    if target:
        raise ValueError(f"target={target!r} contradicts mode='embedded'")
    from textlens.connectors.duckdb.embedded import EmbeddedBackend

    return EmbeddedBackend.load(config, timeout=timeout)


def register(
    con: duckdb.DuckDBPyConnection,
    target: str | Sequence[str] | None = None,
    *,
    mode: Mode = "auto",
    config: str | Path | None = None,
    backend: Backend | None = None,
    models: Mapping[str, str] | None = None,
    truncation: Truncation = "truncate",
    prefix: str = "",
    timeout: float = DEFAULT_TIMEOUT,
    cache: ResultCache | None = None,
    token: str | None = None,
    tls: TLSArg = None,
    tls_ca: str | Path | None = None,
    inflight: int | None = None,
) -> Registration:
    """Register the textlens SQL functions on `con`; returns the handle with `stats()`.

    * `target` "host:port" (or $TEXTLENS_TARGET): remote mode, a textlens
      server; needs no torch. Otherwise embedded mode: the runtime in this
      process (the `models` extra), over the models of `config` (a TOML file
      as for `textlens serve`; default $TEXTLENS_CONFIG, else the built-in
      defaults), loaded once per process. `mode` forces one or the other;
      `backend` supplies your own (e.g. `EmbeddedBackend(analyzer)`).
    * `models` names the model the one-argument forms use per function family
      (keys sentiment, aspect, entities, embed, classify; aspect also serves
      entity_sentiment); by default the server's
      default model of each task. `sentiment(text, 'name')` picks any other.
    * `truncation` "truncate" (default) or "error": what over-long texts do.
    * `prefix` is put before every function name (`prefix="tl_"` -> `tl_sentiment`).
    * `timeout` is each remote chunk's deadline in seconds, retries included.
    * `cache` shares a `ResultCache` between registrations (default: a new one).
    * `token` is sent with every remote call (default $TEXTLENS_TOKEN) to a server
      started with `read_tokens`.
    * `tls_ca` (a CA file) or `tls` (a `textlens.client.TLS`, with a client
      certificate for mTLS; True for the system's roots) make the channel TLS; by
      default $TEXTLENS_TLS_CA and $TEXTLENS_CLIENT_TLS_CERT / _KEY decide, as for
      `Client`.
    * `target` may name several replicas (a list, or "h1:p,h2:p"): calls are spread
      round-robin, and each chunk goes out as `inflight` concurrent RPCs (default:
      one per replica).
    """
    if tls_ca is not None:
        if tls is not None:
            raise ValueError("give tls_ca=... or tls=..., not both")
        tls = str(tls_ca)
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation must be one of {TRUNCATIONS}, not {truncation!r}")
    if prefix and not _PREFIX.match(prefix):
        raise ValueError(f"prefix must be a SQL identifier (letters, digits, _), not {prefix!r}")
    chosen = dict(models or {})
    unknown = set(chosen) - set(MODEL_KEYS)
    if unknown:
        raise ValueError(f"models= keys are {', '.join(MODEL_KEYS)}; unknown: {sorted(unknown)}")
    owns_backend = backend is None
    if backend is None:
        backend = choose_backend(target, mode, config, timeout, token, tls, inflight)
    try:
        compute = CachedCompute(
            backend,
            cache if cache is not None else ResultCache(),
            truncation=truncation,
            version_ttl=VERSION_TTL if backend.mode == "remote" else None,
        )
        embed_info = compute.resolver.resolve("embed", chosen.get("embed", ""))
        compute.embed_dim = embed_info.dim if embed_info is not None else None
        return _create(con, compute, chosen, prefix, owns_backend)
    except BaseException:
        if owns_backend:
            backend.close()
        raise


def _create(
    con: duckdb.DuckDBPyConnection,
    compute: CachedCompute,
    models: dict[str, str],
    prefix: str,
    owns_backend: bool,
) -> Registration:

    functions: dict[str, SqlFunction] = {}
    private: dict[str, str] = {}
    registration = Registration(con, compute, functions, private, owns_backend=owns_backend)
    token = secrets.token_hex(4)
    for fn in sql_functions(compute.embed_dim):
        public = f"{prefix}{fn.name}"
        private_name = f"_textlens_{public}_{token}"
        # Plain strings for the UDF kind and NULL handling: DuckDB accepts them in every
        # version, while the enums moved between modules (duckdb.functional -> duckdb.func).
        create_function: Any = con.create_function
        create_function(
            private_name,
            make_udf(fn, public, compute, registration.listeners),
            fn.parameter_types,
            fn.return_type,
            type="arrow",
            null_handling="special",
            side_effects=False,
        )
        private[public] = private_name
        con.execute(macro_sql(fn, public, private_name, models))
        functions[public] = fn
    marker = f"_textlens_{prefix}near_duplicates_{token}"
    create_function(
        marker,
        near_duplicates_udf(con),
        ["VARCHAR", "DOUBLE"],
        NEAR_DUPLICATES_TYPE,
        type="arrow",
        null_handling="special",
        side_effects=True,  # reads the index as last committed
    )
    private[f"{prefix}near_duplicates"] = marker
    embed = private.get(f"{prefix}embed")
    ann_udf = None
    if embed is not None:
        ann_udf = f"_textlens_{prefix}semantic_search_ann_{token}"
        create_function(
            ann_udf,
            AnnSearcher(con).udf(),
            ["VARCHAR", "FLOAT[]", "BIGINT", "BIGINT"],
            ANN_HITS_TYPE,
            type="arrow",
            null_handling="special",
            side_effects=True,  # reads the index as last committed
        )
        private[f"{prefix}semantic_search_ann"] = ann_udf
    registration.search_sql = macro_statements(prefix, embed, marker, ann_udf)
    for statement in registration.search_sql:
        con.execute(statement)
    registration.search_macros = [f"{prefix}{name}" for name in SEARCH_FUNCTIONS]
    registration.search_marker = marker
    return registration
