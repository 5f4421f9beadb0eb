"""Issue 22 item 7: one broken registered model no longer stops `textlens serve` from starting.

A real `textlens serve` child over the tiny models and a registry in which
`topics` has a good v1 and a corrupt current v2 (its delta cut in half, as a
copy interrupted mid-file leaves it), and `broken` has only a corrupt v1. The
server starts, serves `topics` from v1 and says so (log, ListModels, health),
leaves `broken` out (log, health, the error a call gets) and serves the rest.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

pytest.importorskip("torch", reason="serving needs the `models` extra")

from tests.helpers import TOPIC_TEXTS, publish_broken_version, publish_tiny_topics
from tests.tiny_models import TINY_TASK_MODELS_TOML
from textlens.client import Client
from textlens.client.errors import UnknownModel
from textlens.server.process import ServerProcess


def health_status(target: str, service: str) -> str:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        except grpc.RpcError as exc:
            return str(exc.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


def test_server_starts_past_a_broken_registered_model(
    tmp_path: Path, tiny_models_dir: dict[str, Path]
) -> None:
    registry = tmp_path / "registry"
    publish_tiny_topics(registry, tiny_models_dir["tiny-encoder"], ("alpha", "beta"))
    # topics v2: a copy of v1 whose delta was cut in half, made current.
    assert publish_broken_version(registry, "topics", registry / "topics" / "v1") == "v2"
    # broken: its only version is corrupt.
    publish_broken_version(registry, "broken", registry / "topics" / "v1")
    config = tmp_path / "serve.toml"
    config.write_text(
        TINY_TASK_MODELS_TOML.format(
            sequence=tiny_models_dir["tiny-sequence"],
            token=tiny_models_dir["tiny-token"],
            encoder=tiny_models_dir["tiny-encoder"],
        )
    )
    env = {"TEXTLENS_REGISTRY": str(registry), "TEXTLENS_THREADS": "1", "OMP_NUM_THREADS": "1"}
    with ServerProcess(config, env=env, startup_timeout=180) as server:
        with Client(server.target, retries=0) as client:
            infos = {i.name: i for i in client.list_models()}
            assert {"tiny-sentiment", "tiny-embed", "topics"} <= set(infos)
            assert "broken" not in infos
            topics = infos["topics"]
            assert topics.source.endswith("topics/v1")
            assert "serving v1, not the current version" in topics.backend_reason
            assert "v2 did not load" in topics.backend_reason
            assert str(tmp_path) not in topics.backend_reason  # paths stay in the server log
            results = client.classify(TOPIC_TEXTS, model="topics")
            assert {r.label for r in results if r is not None} <= {"alpha", "beta"}
            (sentiment,) = client.sentiment(["good"])
            assert sentiment is not None
            with pytest.raises(UnknownModel, match="registered but not served"):
                client.classify(["x"], model="broken")
        assert health_status(server.target, "") == "SERVING"
        assert health_status(server.target, "textlens.v1.TextAnalysis/topics") == "SERVING"
        assert health_status(server.target, "textlens.v1.TextAnalysis/tiny-embed") == "SERVING"
        assert health_status(server.target, "textlens.v1.TextAnalysis/broken") == "NOT_SERVING"
        assert health_status(server.target, "textlens.v1.TextAnalysis/nope") == "NOT_FOUND"
        output = server.output()
    assert "registered model topics: serving v1, not the current version" in output
    assert "not serving registered model broken" in output
