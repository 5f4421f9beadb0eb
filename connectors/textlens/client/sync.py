"""The blocking client.

Each method validates its arguments, then sends one RPC per `batch_size` texts
under a single deadline (`timeout` covers every batch and retry of the call),
and hands back plain result objects, None where the input was None. Every gRPC
failure comes out as a textlens error. A Client is thread-safe: share one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc

from textlens.client import wire
from textlens.client.channel import create_channel, resolve_token, text_analysis_stub
from textlens.client.deadline import call_deadline
from textlens.client.health import UNHEALTHY_CODES, check_request, health_modules, is_serving
from textlens.client.options import Settings
from textlens.client.replicas import ReplicaCounts
from textlens.client.retry import RetryPolicy
from textlens.client.rpc_errors import deadline_error, from_rpc_error, rpc_code
from textlens.client.tls import ChannelOption, TLSArg
from textlens.client.wire import Job, Matrix, Vector, VectorDtype
from textlens.contract import errors
from textlens.contract.limits import (
    DEFAULT_BACKOFF,
    DEFAULT_BATCH_SIZE,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
)
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

Out = TypeVar("Out")


class Client:
    """Blocking textlens client: `Client("host:50051")`, or $TEXTLENS_TARGET, or 127.0.0.1:50051.

    `timeout` is the deadline of a whole method call in seconds, retries and
    batches included. UNAVAILABLE and RESOURCE_EXHAUSTED answers are retried up
    to `retries` times with exponential backoff from `backoff` seconds, never
    past the deadline. `tls` makes it a TLS channel: a `textlens.client.TLS`
    (CA, client certificate for mTLS, server name), a CA file path, or True
    for the system's roots; by default $TEXTLENS_TLS_CA and
    $TEXTLENS_CLIENT_TLS_CERT / _KEY decide.
    `credentials` (raw gRPC channel credentials) is the alternative to `tls`.
    `token` is sent on every call (default $TEXTLENS_TOKEN); `options` are
    extra gRPC channel options. Texts are sent `batch_size` per RPC.
    """

    def __init__(
        self,
        target: str | Sequence[str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[ChannelOption] = (),
        batch_size: int = DEFAULT_BATCH_SIZE,
        token: str | None = None,
        tls: TLSArg = None,
    ) -> None:
        self._settings = Settings.create(
            target, timeout=timeout, retries=retries, backoff=backoff, batch_size=batch_size
        )
        self._retry = RetryPolicy(retries=self._settings.retries, backoff=self._settings.backoff)
        self._channel = create_channel(
            self._settings.target,
            credentials=credentials,
            options=options,
            token=resolve_token(token),
            tls=tls,
        )
        self._stub: Any = text_analysis_stub(self._channel)
        self._health_check: Callable[..., Any] | None = None
        self._replicas = ReplicaCounts()
        self._closed = False

    @property
    def target(self) -> str:
        """The server address this client calls."""
        return self._settings.target

    @property
    def timeout(self) -> float:
        """Seconds a method call may take, retries and all batches included."""
        return self._settings.timeout

    def __repr__(self) -> str:
        return f"Client(target={self.target!r}, timeout={self._settings.timeout:g})"

    # --- tasks ----------------------------------------------------------------

    def sentiment(
        self,
        texts: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
    ) -> list[SentimentResult | NotScored | None]:
        """Sentiment of each text (None for None); `model` "" is the default model.

        `NotScored` (with its reason) where the model was not asked: by default, a
        text confidently in a language the model does not read (docs/language.md).
        """
        return self._run(wire.sentiment_job(texts, model, truncation, self._batch_size))

    def aspect_sentiment(
        self,
        texts: Sequence[str | None],
        targets: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
    ) -> list[SentimentResult | NotScored | None]:
        """Sentiment of texts[i] toward targets[i]; None where the text does not mention it,
        `NotScored` where the model was not asked (e.g. the text's language).

        "Mentioned" is a whole-word, case-insensitive match (plural and
        possessive endings allowed); see the AspectSentimentRequest comment in
        textlens.proto.
        """
        job = wire.aspect_sentiment_job(texts, targets, model, truncation, self._batch_size)
        return self._run(job)

    def entities(
        self,
        texts: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
    ) -> list[list[Entity] | NotScored | None]:
        """Named entities of each text as code-point spans (None for None; `NotScored`
        where the model was not asked, e.g. the text's language)."""
        return self._run(wire.entities_job(texts, model, truncation, self._batch_size))

    def language(self, texts: Sequence[str | None]) -> list[LanguageResult | None]:
        """The language of each text (None for None): an ISO 639 code, or "und" when the
        text has too few letters to tell, with the detector's confidence and `reliable`."""
        return self._run(wire.language_job(texts, self._batch_size))

    def embed(
        self,
        texts: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
        dtype: VectorDtype = "float32",
        normalize: bool = True,
    ) -> list[Vector | None]:
        """One float32 vector per text (None for None).

        `dtype="float16"` halves the bytes on the wire; the vectors still come
        back as float32. `normalize=False` asks for the raw pooled vectors.
        """
        job = wire.embed_job(texts, model, truncation, dtype, normalize, self._batch_size)
        return self._run(job)

    def embed_array(
        self,
        texts: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
        dtype: VectorDtype = "float32",
        normalize: bool = True,
    ) -> Matrix:
        """The vectors of the non-None texts, in order, as one (n, dim) array of `dtype`.

        For bulk work: no per-row objects, and no copy when the texts fit one
        batch (the array is then a read-only view of the received bytes).
        """
        job = wire.embed_array_job(texts, model, truncation, dtype, normalize, self._batch_size)
        return self._run(job)

    def classify(
        self,
        texts: Sequence[str | None],
        labels: Sequence[str] | None = None,
        model: str = "",
        hypothesis_template: str = "",
        truncation: Truncation = "truncate",
    ) -> list[ClassifyResult | None]:
        """Zero-shot over `labels` (two or more), or a fine-tuned `model`'s own labels.

        Every result carries a score per label, so long label lists send fewer
        texts per RPC than `batch_size`: as many as their answers fit one message.
        """
        job = wire.classify_job(
            texts, labels, model, hypothesis_template, truncation, self._batch_size
        )
        return self._run(job)

    # --- server ---------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """The models the server serves."""
        return self._run(wire.list_models_job())

    def model_versions(self) -> dict[str, str]:
        """{model name: version}; a version changes whenever the model's weights change."""
        return {info.name: info.version for info in self.list_models()}

    def reload_models(
        self, names: Sequence[str] = (), token: str | None = None
    ) -> list[ModelReload]:
        """Admin: make the server serve its registry's current versions (empty: every model).

        `token` is the server's operator token (default $TEXTLENS_ADMIN_TOKEN),
        sent as `authorization: Bearer <token>`. Not retried past the first
        answer: a reload that failed changed nothing and says why.
        """
        self._check_open()
        job = wire.reload_models_job(names)
        metadata = wire.admin_metadata(token)
        deadline = time.monotonic() + self._settings.timeout
        rpc = self._stub.ReloadModels
        responses = [self._invoke(job.method, rpc, r, deadline, metadata) for r in job.requests]
        return job.finish(responses)

    def answered_by(self) -> dict[str, int]:
        """{replica id: answers} from Ray Serve's `textlens-replica` trailers (empty for a
        standalone server): whether calls really were spread over the replicas."""
        return self._replicas.snapshot()

    def health(self, service: str = "") -> bool:
        """True if the server's grpc.health.v1 Check says SERVING for `service` ("" = server).

        False when it is not serving, unknown, unreachable or too slow to
        answer; no retries, since a health probe wants the state now.
        Needs grpcio-health-checking.
        """
        self._check_open()
        request = check_request(service)
        if self._health_check is None:
            _, health_pb2_grpc = health_modules()
            self._health_check = health_pb2_grpc.HealthStub(self._channel).Check
        try:
            response = self._health_check(request, timeout=self._settings.timeout)
        except grpc.RpcError as err:
            if rpc_code(err) in UNHEALTHY_CODES:
                return False
            raise self._error(err, "Health.Check") from err
        return is_serving(response)

    # --- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        """Close the channel; calls made afterwards raise TextlensError. Idempotent."""
        if not self._closed:
            self._closed = True
            self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------

    @property
    def _batch_size(self) -> int:
        return self._settings.batch_size

    def _check_open(self) -> None:
        if self._closed:
            raise errors.TextlensError(f"this textlens Client ({self.target}) is closed")

    def _run(self, job: Job[Any, Out]) -> Out:
        """Send the job's requests in order under one deadline and assemble the answer."""
        self._check_open()
        deadline = call_deadline(self._settings.timeout)
        rpc = getattr(self._stub, job.method)
        responses = [self._invoke(job.method, rpc, request, deadline) for request in job.requests]
        return job.finish(responses)

    def _invoke(
        self,
        method: str,
        rpc: Any,
        request: object,
        deadline: float,
        metadata: Sequence[tuple[str, str]] | None = None,
    ) -> Any:
        """One RPC, retried per the policy; raises a textlens error, never grpc.RpcError."""
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise deadline_error(
                    target=self.target, method=method, timeout=self._settings.timeout
                )
            try:
                response, call = rpc.with_call(request, timeout=remaining, metadata=metadata)
                self._replicas.record(call.trailing_metadata())
                return response
            except grpc.RpcError as err:
                error = self._error(err, method)
                pause = self._retry.pause(error, attempt, deadline - time.monotonic())
                if pause is None:
                    raise error from err
                time.sleep(pause)
            attempt += 1

    def _error(self, err: grpc.RpcError, method: str) -> errors.TextlensError:
        return from_rpc_error(
            err, target=self.target, method=method, timeout=self._settings.timeout
        )
