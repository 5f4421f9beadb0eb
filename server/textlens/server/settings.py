"""The one place textlens server configuration is defined.

Values come, in order of precedence, from keyword arguments, environment
variables (`TEXTLENS_` prefix, e.g. `TEXTLENS_PORT=50052`; the certificate is
`TEXTLENS_SERVER_TLS_CERT`/`_KEY`), a TOML file
(`--config` or `TEXTLENS_CONFIG`), and the defaults below. With no `[[models]]`
in the config the embedded default models are served.

Example TOML:

    [server]
    port = 50051
    registry = "./registry"       # `textlens train --register` models, hot-reloadable
    admin_token = "change-me"     # enables the ReloadModels admin RPC
    read_tokens = ["reader-token"]  # data RPCs need a token (or token_file = "tokens.txt")
    tls_cert = "server.pem"       # TLS (add tls_client_ca = "clients-ca.pem" for mTLS)
    tls_key = "server.key"
    threads = 0                   # compute threads; 0 = the cores this process may use
    cache_dir = "/var/cache/textlens"  # ONNX exports + measured engine choices

    [[models]]
    name = "finance"
    task = "sentiment"
    source = "ProsusAI/finbert"   # hub id, local directory or builtin:NAME
    device = "auto"
    backend = "auto"              # auto | torch | onnx | openvino
    dtype = "auto"                # auto | float32 | bfloat16 | float16 | int8
    max_batch_tokens = 16384
    languages = ["en"]            # what it reads (unset: docs/language.md, "Policy")
    other_languages = "null"      # null (NULL, not scored) | score: text in other languages
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from textlens.contract.limits import MAX_MESSAGE_BYTES
from textlens.contract.tls_env import ROLE_ENV, role_tls_env
from textlens.server.dtypes import canonical_dtype
from textlens.server.token_file import read_token_file

Task = Literal["sentiment", "aspect", "ner", "embed", "classify"]


class ModelSpec(BaseModel):
    """One served model and its batching knobs."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    task: Task
    source: str
    device: str = "auto"
    #: `auto` measures torch, ONNX Runtime and OpenVINO on this machine and keeps the
    #: fastest that passes the gates (`textlens.server.inference`); the others pin one.
    backend: Literal["auto", "torch", "onnx", "openvino"] = "auto"
    #: `auto`: bf16 or int8 where this machine runs them faster and they agree with
    #: float32 on the probe set; else float32. CUDA: bf16 (fp16 without bf16).
    dtype: str = "auto"
    #: Tokens (incl. special tokens) above which a text is truncated or refused.
    max_length: int | None = Field(default=None, gt=2)
    #: Padded tokens per forward pass (rows x longest row).
    max_batch_tokens: int = Field(default=16384, gt=0)
    #: How long the first request of a batch waits for company.
    max_wait_ms: float = Field(default=2.0, ge=0)
    #: Texts waiting in the queue before new requests get RESOURCE_EXHAUSTED.
    max_queue_texts: int = Field(default=65536, gt=0)
    #: The task's default model (otherwise the first model of the task is).
    default: bool = False
    #: Sentiment: read a text longer than the model's window one sentence at a time and
    #: combine them, opinions weighted over facts (`textlens.server.runtime.documents`);
    #: a text that fits is read whole. For models trained on short texts.
    sentences: bool = False
    #: The languages the model reads (ISO 639 codes as `language()` answers them, e.g.
    #: ["en"] or ["en", "de", "fr"]). Unset: what the model's `textlens_model.json`
    #: declares, else ["en"] for models on the packaged English MiniLM (`builtin:*` and
    #: deltas trained on it), else any language (a hub or local model: never refused).
    #: See docs/language.md, "Policy".
    languages: list[str] | None = None
    #: Sentiment, aspect and entities of a text confidently in a language not in
    #: `languages`: "null" answers "not scored" (NULL in SQL) without running the
    #: model; "score" runs the model anyway.
    other_languages: Literal["null", "score"] = "null"

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        codes = [code.strip().lower() for code in value]
        bad = [code for code in codes if not re.fullmatch(r"[a-z]{2,3}", code)]
        if bad:
            raise ValueError(
                f"languages are ISO 639 codes of 2-3 letters as language() answers them "
                f"(e.g. 'en', 'de', 'zh'), not {bad}"
            )
        return list(dict.fromkeys(codes))

    @field_validator("dtype")
    @classmethod
    def _known_dtype(cls, value: str) -> str:
        return canonical_dtype(value)


def default_models() -> list[ModelSpec]:
    """The embedded defaults: offline, on the packaged MiniLM encoder."""
    return [
        ModelSpec(
            name="sentiment-minilm",
            task="sentiment",
            source="builtin:sentiment-minilm",
            sentences=True,
        ),
        ModelSpec(name="aspect-minilm", task="aspect", source="builtin:aspect-minilm"),
        ModelSpec(name="ner-minilm", task="ner", source="builtin:ner-minilm"),
        ModelSpec(name="minilm", task="embed", source="builtin:minilm"),
    ]


class RaySettings(BaseModel):
    """The `[ray]` table: replica resources, concurrency, autoscaling, proxy ports."""

    num_replicas: int | str = 1
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=4, ge=1)
    target_ongoing_requests: float = Field(default=4, gt=0)
    num_cpus: float = Field(default=1, ge=0)
    num_gpus: float = Field(default=0, ge=0)
    max_ongoing_requests: int = Field(default=8, ge=1)
    max_queued_requests: int = -1
    grpc_port: int = 9000
    http_port: int = 8000
    host: str = "127.0.0.1"

    @classmethod
    def from_config(cls, config: Path | str | None) -> RaySettings:
        """The `[ray]` table of `config` (None: $TEXTLENS_CONFIG), as `load_settings` reads it."""
        return load_settings(config).ray


class RuntimeSettings(BaseSettings):
    """What the in-process runtime needs beyond its models (embedded DuckDB reads only these)."""

    model_config = SettingsConfigDict(env_prefix="TEXTLENS_", extra="ignore")

    #: Compute threads for the models (torch intra-op, ONNX Runtime intra-op); 0 = the
    #: cores this process may use (CPU affinity, capped by a cgroup CPU quota).
    threads: int = Field(default=0, ge=0)
    #: Exported/quantized ONNX files and measured engine choices, by model version
    #: (default `$XDG_CACHE_HOME/textlens` or `~/.cache/textlens`).
    cache_dir: Path | None = None
    #: When a model with `backend`/`dtype` "auto" has no measured engine choice for this
    #: machine yet: "background" serves it at once on float32 torch and measures the faster
    #: engines after the start, switching when measured; "at_load" measures before serving.
    measure_engines: Literal["background", "at_load"] = "background"
    #: Serve a built-in model's engine choice measured before release on a machine with this
    #: very key (CPU, threads, libraries) at once; false: always measure on this machine.
    shipped_choices: bool = True
    #: Free a model's torch weights once an engine that does not run them (ONNX Runtime,
    #: OpenVINO) serves it (~90 MB per MiniLM model); false keeps them (to compare memory).
    release_torch_weights: bool = True


#: The server's certificate pair: set from TEXTLENS_SERVER_TLS_CERT/_KEY (issue 22,
#: item 18), not from the shared TEXTLENS_TLS_CERT/_KEY that clients read too.
TLS_PAIR = ("tls_cert", "tls_key")


class _EnvWithoutTLSPair(EnvSettingsSource):
    """`TEXTLENS_<FIELD>` for every field except the certificate pair."""

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in super().__call__().items() if k not in TLS_PAIR}


class _ServerTLSEnv(PydanticBaseSettingsSource):
    """The certificate pair from the server's own variables (see `role_tls_env`)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        pair = zip(TLS_PAIR, role_tls_env("server"), strict=True)
        return {name: value for name, value in pair if value is not None}


class ServerSettings(RuntimeSettings):
    """Server-wide settings: `[server]`, `[[models]]` and `[ray]` of one TOML file."""

    #: `textlens ray serve`: replicas, their resources, Serve's proxies (the `[ray]` table).
    ray: RaySettings = Field(default_factory=RaySettings)

    #: The address the gRPC server binds; 0.0.0.0 only with TLS and tokens (docs/security.md).
    host: str = "127.0.0.1"
    #: The gRPC port (0: any free port, printed at start).
    port: int = Field(default=50051, ge=0, le=65535)
    #: Texts in one request; the DuckDB connector sends 2048.
    max_texts_per_request: int = Field(default=8192, gt=0)
    #: Characters in one text; longer texts are refused before tokenizing.
    max_text_chars: int = Field(default=4_000_000, gt=0)
    #: gRPC message limit, both directions (a 2048 x 768 float32 chunk is 6.3 MB).
    max_message_bytes: int = Field(default=MAX_MESSAGE_BYTES, gt=0)
    #: Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    grace_seconds: float = Field(default=10.0, ge=0)
    #: Seconds health reports NOT_SERVING, listener still open, before the drain starts:
    #: load balancers see it and stop sending before connections are refused.
    drain_seconds: float = Field(default=2.0, ge=0)
    #: Prometheus /metrics on this port (0 = any free port; unset = no metrics endpoint),
    #: bound to `metrics_host`.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    #: The address /metrics binds (loopback by default: metrics are not for the network).
    metrics_host: str = "127.0.0.1"
    #: RPCs in progress at once; more get RESOURCE_EXHAUSTED from gRPC (0 = no cap).
    max_concurrent_rpcs: int = Field(default=256, ge=0)
    #: Log level of the `textlens` loggers (DEBUG, INFO, WARNING, ERROR).
    log_level: str = "INFO"
    #: `json`: one JSON object per log line, for log shippers.
    log_format: Literal["text", "json"] = "text"
    #: Operator token for admin RPCs (ReloadModels); empty disables them.
    admin_token: str = ""
    #: Tokens that may call the data RPCs and ListModels (`authorization: Bearer <token>`);
    #: the admin token may too. Empty: data RPCs are open (bind to 127.0.0.1 then).
    #: Env: TEXTLENS_READ_TOKENS='["t1", "t2"]'.
    read_tokens: list[str] = Field(default_factory=list)
    #: A file of hashed tokens (`sha256:<hex> <read|admin> <name>` per line, made by
    #: `textlens token new`), in addition to the two settings above; read at start.
    token_file: Path | None = None
    #: With read tokens, health and reflection need one too unless opened here
    #: (open health for load balancers and Kubernetes probes, which send no token).
    open_health: bool = False
    #: Open gRPC reflection without a token (see `open_health`).
    open_reflection: bool = False
    #: TLS: the server's certificate chain and private key (PEM). Both or neither.
    #: Env: TEXTLENS_SERVER_TLS_CERT / TEXTLENS_SERVER_TLS_KEY.
    tls_cert: Path | None = None
    #: See `tls_cert`.
    tls_key: Path | None = None
    #: mTLS: only clients with a certificate signed by this CA (PEM) may connect.
    tls_client_ca: Path | None = None
    #: Seconds between the server's keepalive pings on an idle connection (finds dead
    #: peers behind NATs and load balancers), and how long a ping may go unanswered.
    keepalive_seconds: float = Field(default=60.0, gt=0)
    #: Seconds a keepalive ping may go unanswered before the connection is closed.
    keepalive_timeout_seconds: float = Field(default=20.0, gt=0)
    #: Clients may ping at most this often (more: gRPC's GOAWAY `too_many_pings`).
    min_client_ping_seconds: float = Field(default=10.0, ge=0)
    #: Close connections idle this long / older than this (0 = never); a maximum age
    #: spreads long-lived clients over new replicas behind a load balancer.
    max_connection_idle_seconds: float = Field(default=0.0, ge=0)
    #: See `max_connection_idle_seconds`.
    max_connection_age_seconds: float = Field(default=0.0, ge=0)
    #: Access log: the share of RPCs logged as one structured line each on the
    #: `textlens.access` logger (method, model, texts, status, ms, peer, token identity;
    #: never the token). 0 = off, 1 = every RPC; failed RPCs are logged whenever > 0.
    access_log: float = Field(default=0.0, ge=0, le=1)
    #: Model registry directory (`textlens train --register`): each registered model is
    #: served at its current version, next to `models`; ReloadModels picks up new ones.
    registry: Path | None = None
    #: Seconds a replaced model keeps its batcher after a reload, so requests that picked
    #: it just before the swap still finish on it.
    retire_seconds: float = Field(default=5.0, ge=0)
    #: Poll the registry every this many seconds and serve new current versions by
    #: itself (a file watch; 0 = only on the ReloadModels RPC).
    watch_seconds: float = Field(default=0.0, ge=0)
    models: list[ModelSpec] = Field(default_factory=default_models)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """As pydantic-settings does, but the certificate pair from the server's own names."""
        return (
            init_settings,
            _ServerTLSEnv(settings_cls),
            _EnvWithoutTLSPair(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _unique_names(self) -> ServerSettings:
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"model names must be unique; repeated: {dupes}")
        return self

    @model_validator(mode="after")
    def _tls_files(self) -> ServerSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: set both (TLS) or neither")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("tls_client_ca (mTLS) needs tls_cert and tls_key too")
        for name in ("tls_cert", "tls_key", "tls_client_ca", "token_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name} {path} is not a file")
        if self.token_file is not None:
            read_token_file(self.token_file)  # a malformed line fails at start, with its number
        return self

    @property
    def tls(self) -> str:
        """'mTLS', 'TLS' or 'plaintext': what the listener speaks."""
        if self.tls_client_ca is not None:
            return "mTLS"
        return "TLS" if self.tls_cert is not None else "plaintext"


def load_settings(config: Path | str | None = None, **overrides: Any) -> ServerSettings:
    """Settings from a TOML file (or `TEXTLENS_CONFIG`), env vars and overrides."""
    #: The TOML file (`[server]`, `[[models]]`, `[ray]`) when no `--config` is given: read by
    #: `textlens serve`, every command, the embedded DuckDB mode and the Ray replicas.
    path = config or os.environ.get("TEXTLENS_CONFIG")
    data: dict[str, Any] = {}
    if path:
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"config file {file} does not exist")
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
        data.update(raw.get("server", {}))
        if "models" in raw:
            data["models"] = raw["models"]
        if "ray" in raw:
            data["ray"] = raw["ray"]
    env_keys = {k[len("TEXTLENS_") :].lower() for k in os.environ if k.startswith("TEXTLENS_")}
    # The certificate pair: only the server's own names win over the file; the shared
    # TEXTLENS_TLS_CERT/_KEY may be a client's (issue 22, item 18).
    env_keys -= set(TLS_PAIR)
    if any(os.environ.get(name, "").strip() for name in ROLE_ENV["server"]):
        env_keys |= set(TLS_PAIR)
    for key in env_keys & set(data):  # the environment wins over the file
        data.pop(key)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return ServerSettings(**data)
