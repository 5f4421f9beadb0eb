"""The `duckdb+textlens` URL's own query parameters, separated from DuckDB's.

Kept free of SQLAlchemy imports so the parsing (and its error messages) can be
tested and reused without an engine. Every textlens parameter starts with
`textlens_`, so it can never clash with a DuckDB setting; `read_only` is the
one plain name, because DuckDB has no *setting* of that name (it is an argument
of `duckdb.connect`) and duckdb_engine would otherwise send `SET read_only`.

| parameter | meaning |
|---|---|
| `read_only` | `true`: open the file read-only (many processes may share it; no writes) |
| `textlens_target` | `host:port` of a textlens server: remote mode (no torch needed); several replicas as `h1:p,h2:p` (round-robin) or a `dns:///name:port` |
| `textlens_inflight` | concurrent RPCs per DuckDB chunk (default: one per replica) |
| `textlens_mode` | `auto` (default: remote when a target or $TEXTLENS_TARGET is set), `remote`, `embedded` |
| `textlens_config` | embedded mode: the models TOML (as for `textlens serve --config`) |
| `textlens_timeout` | seconds per remote chunk, retries included (default 300) |
| `textlens_prefix` | put before every function name (`tl_` -> `tl_sentiment`) |
| `textlens_truncation` | `truncate` (default) or `error` for over-long texts |
| `textlens_models` | default model per family: `sentiment:name,entities:name` |
| `textlens_token` | token sent with every call (better: the URL's password, `duckdb+textlens://:TOKEN@/...`, which Superset stores encrypted and masks; else $TEXTLENS_TOKEN) |
| `textlens_tls` | `true`: TLS with the system's roots (implied by `textlens_tls_ca`) |
| `textlens_tls_ca` | CA file (PEM) that signed the server's certificate |
| `textlens_tls_cert`, `textlens_tls_key` | this client's certificate and key (PEM) for an mTLS server |
| `textlens_tls_server_name` | the name the server's certificate carries, when the target is an IP |
| `textlens_sandbox` | `true`: no file access outside `textlens_allowed_directories`, no file writes, no extensions, settings locked (`sandbox.py`; Superset's engine spec forces it) |
| `textlens_allowed_directories` | with the sandbox: the absolute directories queries may read, comma-separated |
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textlens.connectors.duckdb.register import DEFAULT_TIMEOUT, MODEL_KEYS, Mode

PREFIX = "textlens_"
#: The textlens parameters a URL may carry (without the prefix).
KNOWN = (
    "target",
    "mode",
    "config",
    "timeout",
    "prefix",
    "truncation",
    "models",
    "token",
    "tls",
    "tls_ca",
    "tls_cert",
    "tls_key",
    "tls_server_name",
    "inflight",
    "sandbox",
    "allowed_directories",
)
MODES: tuple[Mode, ...] = ("auto", "remote", "embedded")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(name: str, value: Any) -> bool:
    """A URL flag: true/false, 1/0, yes/no, on/off (any case), or a real bool."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean; use true or false")


@dataclass(frozen=True)
class TextlensOptions:
    """How the dialect registers the functions; hashable, so backends can be shared by it."""

    target: str | None = None
    mode: Mode = "auto"
    config: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    prefix: str = ""
    truncation: str = "truncate"
    models: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    #: Never in the repr: error messages print the options.
    token: str | None = field(default=None, repr=False)
    tls: bool = False
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_server_name: str | None = None
    inflight: int | None = None
    #: See sandbox.py: the connection cannot reach the host's files.
    sandbox: bool = False
    allowed_directories: tuple[str, ...] = ()

    @property
    def tls_arg(self) -> Any:
        """What `register(tls=...)` takes: a TLS when asked for, else None (the env decides)."""
        if not (self.tls or self.tls_ca or self.tls_cert or self.tls_key):
            return None
        from textlens.client.tls import TLS

        return TLS(self.tls_ca, self.tls_cert, self.tls_key, self.tls_server_name)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TextlensOptions:
        """Options from the `textlens_*` parameters (prefix already removed)."""
        unknown = sorted(set(params) - set(KNOWN))
        if unknown:
            raise ValueError(
                f"unknown textlens URL parameter(s) {', '.join(PREFIX + u for u in unknown)}; "
                f"known: {', '.join(PREFIX + k for k in KNOWN)}"
            )
        mode = str(params.get("mode", "auto"))
        if mode not in MODES:
            raise ValueError(f"textlens_mode must be one of {', '.join(MODES)}, not {mode!r}")
        try:
            timeout = float(params.get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            raise ValueError(
                f"textlens_timeout must be seconds, not {params['timeout']!r}"
            ) from None
        inflight = params.get("inflight")
        if inflight is not None and not (str(inflight).isdigit() and int(inflight) >= 1):
            raise ValueError(f"textlens_inflight must be a whole number >= 1, not {inflight!r}")
        directories = str(params.get("allowed_directories") or "")
        return cls(
            sandbox=parse_bool("textlens_sandbox", params.get("sandbox", False)),
            allowed_directories=allowed_directories(
                d.strip() for d in directories.split(",") if d.strip()
            ),
            inflight=int(inflight) if inflight is not None else None,
            target=str(params["target"]) if params.get("target") else None,
            mode=mode,  # checked against MODES above
            config=str(params["config"]) if params.get("config") else None,
            timeout=timeout,
            prefix=str(params.get("prefix", "")),
            truncation=str(params.get("truncation", "truncate")),
            models=parse_models(str(params.get("models", ""))),
            token=str(params["token"]) if params.get("token") else None,
            tls=parse_bool("textlens_tls", params.get("tls", False)),
            **{
                name: str(params[name]) if params.get(name) else None
                for name in ("tls_ca", "tls_cert", "tls_key", "tls_server_name")
            },
        )


def allowed_directories(paths: Iterable[str]) -> tuple[str, ...]:
    """Absolute directory paths with a trailing `/` (DuckDB matches them as prefixes)."""
    out: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_absolute():
            raise ValueError(f"textlens_allowed_directories needs absolute paths, not {raw!r}")
        text = os.path.normpath(path)  # no `..`, no trailing slash
        if not text.strip("/"):
            raise ValueError(
                "textlens_allowed_directories may not allow the whole file system "
                f"({raw!r}); name the directories the dashboards read"
            )
        out.append(text + "/")
    return tuple(out)


def parse_models(text: str) -> tuple[tuple[str, str], ...]:
    """`sentiment:name,entities:name` -> (("sentiment", "name"), ("entities", "name"))."""
    pairs: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        family, sep, name = item.partition(":")
        if not sep or not name or family not in MODEL_KEYS:
            raise ValueError(
                f"textlens_models entries are family:model with family one of "
                f"{', '.join(MODEL_KEYS)}; got {item!r}"
            )
        pairs.append((family, name))
    return tuple(pairs)


def split_url_query(
    query: Mapping[str, Any],
) -> tuple[TextlensOptions, dict[str, Any], dict[str, Any]]:
    """(textlens options, duckdb.connect keyword arguments, the rest for duckdb_engine).

    A parameter given twice in a URL arrives as a tuple; the last one wins.
    """
    textlens: dict[str, Any] = {}
    connect: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, raw in query.items():
        value = raw[-1] if isinstance(raw, tuple | list) else raw
        if key.startswith(PREFIX):
            textlens[key.removeprefix(PREFIX)] = value
        elif key == "read_only":
            connect["read_only"] = parse_bool(key, value)
        else:
            rest[key] = value
    return TextlensOptions.from_params(textlens), connect, rest
