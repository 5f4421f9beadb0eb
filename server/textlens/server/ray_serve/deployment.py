"""The one Ray Serve deployment: a replica is a textlens runtime behind servicer methods.

Why not `@serve.batch`: DuckDB chunks and client batches are already batches,
and each replica's own batcher (`runtime/batcher.py`) merges concurrent calls
into forward passes by padded tokens, which Serve's batching by count cannot.
Errors go through the same table as the standalone server (`status.py`):
the status code, the message, and the `textlens-error` trailer the clients
read. Every answer carries `textlens-replica` in its trailing metadata.

Model updates reach every replica through `reconfigure` (Serve's
`user_config`): a new `registry_version` in the config makes each replica
re-read the registry, with the standalone server's guarantee that a broken
version changes nothing. `ReloadModels` through the proxy would reach one
replica only, so here it says to change `user_config` instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from ray import serve

from textlens.contract.errors import PermissionDenied
from textlens.contract.trailers import REPLICA_TRAILER
from textlens.server.assembly import load_registry
from textlens.server.runtime.analyzer import Analyzer
from textlens.server.runtime.reload import Reloader
from textlens.server.settings import load_settings
from textlens.server.transport.answers import refusal
from textlens.server.transport.auth import TokenTable
from textlens.server.transport.core import Call, TextAnalysisCore
from textlens.v1 import textlens_pb2 as pb

log = logging.getLogger(__name__)


RESPONSES = {
    method.name: getattr(pb, method.output_type.name)
    for method in pb.DESCRIPTOR.services_by_name["TextAnalysis"].methods
}


class TextlensReplica:
    """Servicer functions of textlens.v1.TextAnalysis over one replica's runtime."""

    def __init__(
        self,
        config: str | None = None,
        overrides: dict[str, Any] | None = None,
        ray_settings: dict[str, Any] | None = None,
    ) -> None:
        # Kept so `textlens ray reload` can redeploy with exactly these (launch_args).
        self.launched = {"config": config, "overrides": overrides or {}, "ray": ray_settings}
        self.settings = load_settings(config, **(overrides or {}))
        # Each registered model from its first version that loads (issue 22, item 7).
        registry = load_registry(self.settings)
        for served in registry.models.values():
            served.warm_up()
        self.reloader = Reloader(registry, self.settings)
        tokens = TokenTable.create(
            self.settings.admin_token, self.settings.read_tokens, self.settings.token_file
        )
        analyzer = Analyzer(
            registry,
            max_texts_per_request=self.settings.max_texts_per_request,
            max_text_chars=self.settings.max_text_chars,
        )
        self.core = TextAnalysisCore(analyzer, None, tokens)
        try:
            self.replica = serve.get_replica_context().replica_id.unique_id
        except Exception:  # outside a Serve replica (a plain actor, a test)
            self.replica = f"pid-{os.getpid()}"
        self.registry_version: str | None = None

    async def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Serve calls this on every replica when `user_config` changes."""
        version = user_config.get("registry_version")
        if version is None or version == self.registry_version:
            return
        if self.settings.registry is not None:
            outcomes = await asyncio.to_thread(self.reloader.reload, [])
            log.info("replica %s: registry version %s: %s", self.replica, version, outcomes)
        self.registry_version = version

    async def launch_args(self) -> dict[str, Any]:
        """What this app was deployed with: `textlens ray reload` without `--config`
        redeploys with the same config, overrides and [ray] settings, changing only
        `registry_version` (issue 22, item 16: it used to fall back to the defaults)."""
        return self.launched

    async def _answer(self, method: str, request: Any, grpc_context: Any) -> Any:
        trailers = [(REPLICA_TRAILER, self.replica)]
        try:
            if method == "ReloadModels":
                raise PermissionDenied(
                    "ReloadModels through Ray Serve would reach one replica; change the "
                    "deployment's user_config registry_version to update every replica: "
                    "textlens ray reload --version <new>"
                )
            call = Call.of(None, grpc_context.invocation_metadata() if grpc_context else ())
            response, _ = await self.core.handle(method, request, call)
        except Exception as exc:  # the same answer as the standalone server (answers.py)
            if grpc_context is None:
                raise
            answer = refusal(method, exc)
            grpc_context.set_code(answer.code)
            grpc_context.set_details(answer.message)
            grpc_context.set_trailing_metadata([*trailers, *answer.trailers])
            return RESPONSES[method]()
        if grpc_context is not None:
            grpc_context.set_trailing_metadata(trailers)
        return response

    async def Sentiment(self, request: Any, grpc_context: Any = None) -> Any:
        return await self._answer("Sentiment", request, grpc_context)

    async def AspectSentiment(self, request: Any, grpc_context: Any = None) -> Any:
        return await self._answer("AspectSentiment", request, grpc_context)

    async def Entities(self, request: Any, grpc_context: Any = None) -> Any:
        return await self._answer("Entities", request, grpc_context)

    async def Embed(self, request: Any, grpc_context: Any = None) -> Any:
        return await self._answer("Embed", request, grpc_context)

    async def Classify(self, request: Any, grpc_context: Any = None) -> Any:
        return await self._answer("Classify", request, grpc_context)

    async def Language(self, request: Any, grpc_context: Any = None) -> Any:
        return await self._answer("Language", request, grpc_context)

    async def ListModels(self, request: Any, grpc_context: Any = None) -> Any:
        return await self._answer("ListModels", request, grpc_context)

    async def ReloadModels(self, request: Any, grpc_context: Any = None) -> Any:
        return await self._answer("ReloadModels", request, grpc_context)
