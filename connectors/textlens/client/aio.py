"""The asyncio client, on grpc.aio: the same methods as `Client`, as coroutines.

The channel is created on first use, inside the running event loop, because a
grpc.aio channel belongs to the loop it was created in: construct an
AsyncClient anywhere, but use it from one event loop only.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
import grpc.aio

from textlens.client import wire
from textlens.client.channel import (
    create_aio_channel,
    resolve_token,
    text_analysis_stub,
)
from textlens.client.health import UNHEALTHY_CODES, check_request, health_modules, is_serving
from textlens.client.options import Settings
from textlens.client.replicas import ReplicaCounts
from textlens.client.retry import RetryPolicy
from textlens.client.rpc_errors import deadline_error, from_rpc_error, rpc_code
from textlens.client.tls import ChannelOption, TLSArg, channel_security
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


class AsyncClient:
    """Asyncio textlens client; arguments and behaviour as `textlens.client.Client`.

    Batches of one call are sent one after another, not concurrently, so a
    large call does not flood the server's queue.
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
        self._token = resolve_token(token)
        # Resolved now: a bad CA path fails at construction, and the env is read once.
        self._credentials, tls_options = channel_security(tls, credentials)
        self._options = (*tls_options, *options)
        self._channel: grpc.aio.Channel | None = None
        self._stub: Any = None
        self._health_check: Callable[..., Any] | None = None
        self._replicas = ReplicaCounts()
        self._closed = False

    @property
    def target(self) -> str:
        """The server address this client calls."""
        return self._settings.target

    def __repr__(self) -> str:
        return f"AsyncClient(target={self.target!r}, timeout={self._settings.timeout:g})"

    # --- tasks ----------------------------------------------------------------

    async def sentiment(
        self,
        texts: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
    ) -> list[SentimentResult | NotScored | None]:
        """Sentiment of each text (None for None); `model` "" is the default model.

        `NotScored` (with its reason) where the model was not asked: by default, a
        text confidently in a language the model does not read (docs/language.md).
        """
        return await self._run(wire.sentiment_job(texts, model, truncation, self._batch_size))

    async def aspect_sentiment(
        self,
        texts: Sequence[str | None],
        targets: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
    ) -> list[SentimentResult | NotScored | None]:
        """Sentiment of texts[i] toward targets[i]; None where the text does not mention it."""
        job = wire.aspect_sentiment_job(texts, targets, model, truncation, self._batch_size)
        return await self._run(job)

    async def entities(
        self,
        texts: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
    ) -> list[list[Entity] | NotScored | None]:
        """Named entities of each text as code-point spans (None for None; `NotScored`
        where the model was not asked, e.g. the text's language)."""
        return await self._run(wire.entities_job(texts, model, truncation, self._batch_size))

    async def language(self, texts: Sequence[str | None]) -> list[LanguageResult | None]:
        """The language of each text (None for None): an ISO 639 code, or "und" when the
        text has too few letters to tell, with the detector's confidence and `reliable`."""
        return await self._run(wire.language_job(texts, self._batch_size))

    async def embed(
        self,
        texts: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
        dtype: VectorDtype = "float32",
        normalize: bool = True,
    ) -> list[Vector | None]:
        """One float32 vector per text (None for None); float16 is a wire format only."""
        job = wire.embed_job(texts, model, truncation, dtype, normalize, self._batch_size)
        return await self._run(job)

    async def embed_array(
        self,
        texts: Sequence[str | None],
        model: str = "",
        truncation: Truncation = "truncate",
        dtype: VectorDtype = "float32",
        normalize: bool = True,
    ) -> Matrix:
        """The vectors of the non-None texts as one (n, dim) array of `dtype` (see Client)."""
        job = wire.embed_array_job(texts, model, truncation, dtype, normalize, self._batch_size)
        return await self._run(job)

    async def classify(
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
        return await self._run(job)

    # --- server ---------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        """The models the server serves."""
        return await self._run(wire.list_models_job())

    async def model_versions(self) -> dict[str, str]:
        """{model name: version}; a version changes whenever the model's weights change."""
        return {info.name: info.version for info in await self.list_models()}

    async def reload_models(
        self, names: Sequence[str] = (), token: str | None = None
    ) -> list[ModelReload]:
        """Admin: serve the registry's current versions; see `Client.reload_models`."""
        self._ensure_channel()
        job = wire.reload_models_job(names)
        rpc = functools.partial(self._stub.ReloadModels, metadata=wire.admin_metadata(token))
        deadline = time.monotonic() + self._settings.timeout
        responses = [await self._invoke(job.method, rpc, r, deadline) for r in job.requests]
        return job.finish(responses)

    def answered_by(self) -> dict[str, int]:
        """{replica id: answers}; see `Client.answered_by`."""
        return self._replicas.snapshot()

    async def health(self, service: str = "") -> bool:
        """True if grpc.health.v1 Check says SERVING; False if not, unknown or unreachable."""
        request = check_request(service)
        channel = self._ensure_channel()
        if self._health_check is None:
            _, health_pb2_grpc = health_modules()
            self._health_check = health_pb2_grpc.HealthStub(channel).Check
        try:
            response = await self._health_check(request, timeout=self._settings.timeout)
        except grpc.RpcError as err:
            if rpc_code(err) in UNHEALTHY_CODES:
                return False
            raise self._error(err, "Health.Check") from err
        return is_serving(response)

    # --- lifecycle ------------------------------------------------------------

    async def close(self) -> None:
        """Close the channel; calls made afterwards raise TextlensError. Idempotent."""
        self._closed = True
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- plumbing -------------------------------------------------------------

    @property
    def _batch_size(self) -> int:
        return self._settings.batch_size

    def _ensure_channel(self) -> grpc.aio.Channel:
        """The channel, created on first use so it belongs to the running loop."""
        if self._closed:
            raise errors.TextlensError(f"this textlens AsyncClient ({self.target}) is closed")
        if self._channel is None:
            self._channel = create_aio_channel(
                self.target,
                credentials=self._credentials,
                options=self._options,
                token=self._token,
                tls=False,
            )
            self._stub = text_analysis_stub(self._channel)
        return self._channel

    async def _run(self, job: Job[Any, Out]) -> Out:
        """Send the job's requests in order under one deadline and assemble the answer."""
        self._ensure_channel()
        deadline = time.monotonic() + self._settings.timeout
        rpc = getattr(self._stub, job.method)
        responses = [
            await self._invoke(job.method, rpc, request, deadline) for request in job.requests
        ]
        return job.finish(responses)

    async def _invoke(
        self, method: str, rpc: Callable[..., Any], request: object, deadline: float
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
                call = rpc(request, timeout=remaining)
                response = await call
                self._replicas.record(await call.trailing_metadata())
                return response
            except grpc.RpcError as err:
                error = self._error(err, method)
                pause = self._retry.pause(error, attempt, deadline - time.monotonic())
                if pause is None:
                    raise error from err
            await asyncio.sleep(pause)
            attempt += 1

    def _error(self, err: grpc.RpcError, method: str) -> errors.TextlensError:
        return from_rpc_error(
            err, target=self.target, method=method, timeout=self._settings.timeout
        )
