"""The transport-free core answers exactly what the gRPC servicer sends (issue 13's seam).

Every RPC on a fixed corpus, once through `TextAnalysisCore.handle` in this
process and once as raw bytes through a real gRPC server over the same
models: the serialized responses are byte-identical, and errors are the same
TextlensError the servicer turns into a status.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from textlens.client.errors import UnknownModel
from textlens.v1 import textlens_pb2 as pb

REQUESTS: dict[str, Any] = {
    "Sentiment": pb.SentimentRequest(texts=["I love this phone", "", "awful 😡"]),
    "AspectSentiment": pb.AspectSentimentRequest(
        texts=["The battery is great but the screen is dim"] * 2, targets=["battery", "price"]
    ),
    "Entities": pb.EntitiesRequest(
        texts=["🎉 Angela Merkel visited Siemens in Berlin"], offsets=pb.OFFSET_UNIT_UTF16
    ),
    "Embed": pb.EmbedRequest(texts=["a sentence", "another one"], dtype=pb.VECTOR_DTYPE_FLOAT16),
    "Classify": pb.ClassifyRequest(texts=["the battery died"], labels=["battery", "screen"]),
    "ListModels": pb.ListModelsRequest(),
}


def test_core_and_servicer_give_the_same_bytes(default_served: Any) -> None:
    from tests.helpers import rebatch
    from textlens.server.runtime.analyzer import Analyzer
    from textlens.server.transport.core import Call, TextAnalysisCore
    from textlens.server.transport.inprocess import InProcessServer

    core_registry = rebatch(default_served)
    core = TextAnalysisCore(Analyzer(core_registry))
    try:
        with InProcessServer(rebatch(default_served)) as server:
            channel = grpc.insecure_channel(server.target)
            for method, request in REQUESTS.items():
                direct, identity = asyncio.run(core.handle(method, request, Call()))
                assert identity == "-"
                wire = channel.unary_unary(
                    f"/textlens.v1.TextAnalysis/{method}",
                    request_serializer=None,
                    response_deserializer=None,
                )(request.SerializeToString(), timeout=60)
                assert direct.SerializeToString() == wire, method
            channel.close()
        with pytest.raises(UnknownModel):
            asyncio.run(
                core.handle("Sentiment", pb.SentimentRequest(texts=["x"], model="nope"), Call())
            )
    finally:
        core_registry.close()
