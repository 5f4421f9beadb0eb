"""textlens on a real local Ray cluster: Serve's gRPC proxy, two replicas, our stubs.

No local-testing mode and no handles: `ray.init(num_cpus=2)`, `serve.run` with
the gRPC proxy on a free loopback port, and calls through the generated
textlens.v1 stubs (issue 13, points 1 and 2). Over the tiny models, so the
replicas start in seconds; skipped without `textlens[ray]`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.helpers import free_port, publish_tiny_topics, say
from tests.ray_local import tiny_ray_toml
from textlens.v1 import textlens_pb2 as pb
from textlens.v1 import textlens_pb2_grpc as pb_grpc

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray", reason="needs textlens[ray] (pip install 'textlens[ray]')")

APP = (("application", "textlens"),)
REQUESTS: dict[str, Any] = {
    "Sentiment": pb.SentimentRequest(texts=["I love this phone", "", "awful 😡"]),
    "Entities": pb.EntitiesRequest(texts=["Angela Merkel visited Siemens in Berlin"]),
    "Embed": pb.EmbedRequest(texts=["a sentence", "another one"]),
    "Classify": pb.ClassifyRequest(texts=["the battery died"], labels=["battery", "screen"]),
    "Language": pb.LanguageRequest(texts=["Der Kurs ist gestiegen", "$TSLA 123"]),
    "ListModels": pb.ListModelsRequest(),
}


#: The models `tiny_ray_toml` pins to torch/float32; the registry's topic model is `auto`.
PINNED = {"tiny-sentiment", "tiny-ner", "tiny-embed"}


def canonical(message: Any) -> bytes:
    """Deterministic bytes; `backend_reason` blanked (one process measured the engine
    choice, the other read it from the shared cache: same choice, other words).

    The registry's topic model is served with `backend = "auto"`: each process (and each
    of the two replicas, which start together) times the engines itself, and on a busy
    machine one may pick ONNX where another picks torch. No RPC here reaches that model,
    so its engine fields are blanked; the pinned models' must match.
    """
    for model in getattr(message, "models", ()):
        model.backend_reason = ""
        if model.name not in PINNED:
            model.backend = model.dtype = ""
    return bytes(message.SerializeToString(deterministic=True))


@pytest.fixture(scope="module")
def config(tiny_models_dir: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ray")
    publish_tiny_topics(root / "registry", tiny_models_dir["tiny-encoder"], ("alpha", "beta"))
    path = root / "textlens.toml"
    path.write_text(
        tiny_ray_toml(tiny_models_dir, registry=root / "registry", max_wait_ms=1)
        + "\n[ray]\nnum_replicas = 2\nnum_cpus = 0.5\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def cluster(config: Path, ray_local: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """The Serve gRPC proxy's target, with the textlens app on two replicas."""
    from ray import serve

    from textlens.server.ray_serve.app import run
    from textlens.server.settings import RaySettings

    started = time.monotonic()
    settings = RaySettings.from_config(config).model_copy(
        update={"grpc_port": free_port(), "http_port": free_port()}
    )
    try:
        run(config, settings)
        target = f"127.0.0.1:{settings.grpc_port}"
        with grpc.insecure_channel(target) as channel:
            stub = pb_grpc.TextAnalysisStub(channel)
            deadline = time.monotonic() + 120
            while True:  # the proxy learns its routes a moment after serve.run returns
                try:
                    stub.ListModels(pb.ListModelsRequest(), metadata=APP, timeout=10)
                    break
                except grpc.RpcError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.25)
        say(
            request.config,
            f"\nray: Serve proxy + 2 replicas serving in {time.monotonic() - started:.1f}s",
        )
        yield target
    finally:
        serve.shutdown()


def test_every_rpc_answers_as_the_standalone_server(cluster: str, config: Path) -> None:
    from textlens.server.process import ServerProcess

    with (
        ServerProcess(config) as standalone,
        grpc.insecure_channel(cluster) as ray_channel,
        grpc.insecure_channel(standalone.target) as plain_channel,
    ):
        for method, request in REQUESTS.items():
            calls = [
                channel.unary_unary(
                    f"/textlens.v1.TextAnalysis/{method}",
                    request_serializer=None,
                    response_deserializer=None,
                )
                for channel in (ray_channel, plain_channel)
            ]
            via_ray = calls[0](request.SerializeToString(), metadata=APP, timeout=60)
            direct = calls[1](request.SerializeToString(), timeout=60)
            # The same message; map fields (probabilities, scores) may come in another
            # order from another process, so the bytes are compared in canonical form.
            decode = getattr(pb, type(request).__name__.replace("Request", "Response")).FromString
            assert canonical(decode(via_ray)) == canonical(decode(direct)), method


def test_replies_name_their_replica_and_both_replicas_answer(cluster: str) -> None:
    replicas = set()
    with grpc.insecure_channel(cluster) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        for i in range(24):
            _, call = stub.Sentiment.with_call(
                pb.SentimentRequest(texts=[f"review {i}"]), metadata=APP, timeout=60
            )
            replicas.add(dict(call.trailing_metadata())["textlens-replica"])
    assert len(replicas) >= 2, replicas


def test_errors_keep_their_status_and_trailer(cluster: str) -> None:
    with grpc.insecure_channel(cluster) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Sentiment(pb.SentimentRequest(texts=["x"], model="nope"), metadata=APP, timeout=60)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
        trailers = dict(info.value.trailing_metadata())  # type: ignore[attr-defined]
        assert trailers["textlens-error"] == "UnknownModel" and "textlens-replica" in trailers
        with pytest.raises(grpc.RpcError) as reload:
            stub.ReloadModels(pb.ReloadModelsRequest(), metadata=APP, timeout=60)
        assert reload.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
        details = reload.value.details()  # type: ignore[attr-defined]
        # Issue 22, item 16: it named `textlens ray serve --reload`, which does not exist.
        assert "user_config" in details and "textlens ray reload --version" in details
        assert "serve --reload" not in details


def versions_by_replica(cluster: str, calls: int = 24) -> dict[str, str]:
    seen: dict[str, str] = {}
    with grpc.insecure_channel(cluster) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        for _ in range(calls):
            response, call = stub.ListModels.with_call(
                pb.ListModelsRequest(), metadata=APP, timeout=60
            )
            (topics,) = [m for m in response.models if m.name == "topics"]
            seen[dict(call.trailing_metadata())["textlens-replica"]] = topics.version
    return seen


def test_a_registry_update_reaches_every_replica(
    cluster: str, config: Path, tiny_models_dir: dict[str, Path]
) -> None:
    from textlens.server.ray_serve.app import update_registry_version
    from textlens.server.settings import RaySettings

    before = versions_by_replica(cluster)
    assert len(before) >= 2 and len(set(before.values())) == 1, before
    registry = config.parent / "registry"
    publish_tiny_topics(registry, tiny_models_dir["tiny-encoder"], ("gamma", "delta"))
    ports = {"grpc_port": int(cluster.rsplit(":", 1)[1])}
    update_registry_version("2", config, RaySettings.from_config(config).model_copy(update=ports))
    after = versions_by_replica(cluster)
    assert len(after) >= 2, after
    assert set(after.values()) != set(before.values()) and len(set(after.values())) == 1, after


def served_models(cluster: str) -> set[tuple[str, str]]:
    with grpc.insecure_channel(cluster) as channel:
        response = pb_grpc.TextAnalysisStub(channel).ListModels(
            pb.ListModelsRequest(), metadata=APP, timeout=60
        )
    return {(m.name, m.source) for m in response.models}


def test_reload_without_config_keeps_the_running_apps_config(cluster: str) -> None:
    """Issue 22, item 16: `textlens ray reload --version V` without --config redeployed
    the app on the built-in settings and models; now it reuses the running app's."""
    from textlens.server.ray_serve.app import update_registry_version

    before = served_models(cluster)
    assert "tiny-sentiment" in {name for name, _ in before}, before
    # serve.run returns once the app runs again: no waiting needed for what it serves.
    assert update_registry_version("no-config") is not None  # the app's own config
    assert served_models(cluster) == before
    assert len(versions_by_replica(cluster)) >= 2


def test_the_python_client_and_duckdb_work_unchanged(cluster: str) -> None:
    """One application on the cluster: no `application` metadata needed."""
    import duckdb

    from textlens.client import Client
    from textlens.connectors.duckdb import register

    with Client(cluster, timeout=60) as client:
        (result,) = client.sentiment(["I love this phone"])
        assert result is not None and result.label in {"negative", "neutral", "positive"}
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'row ' || i AS s FROM range(3000) r(i)")
    with register(con, cluster, models={"sentiment": "tiny-sentiment"}):
        assert con.execute("SELECT count(sentiment(s)) FROM t").fetchone() == (3000,)


def test_32_concurrent_duckdb_rpcs_spread_over_the_replicas(cluster: str) -> None:
    """Point 2: one 2,048-row chunk sent as 32 RPCs in flight; both replicas answer."""
    import duckdb

    from textlens.connectors.duckdb import register

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'spread ' || i AS s FROM range(2048) r(i)")
    with register(con, cluster, models={"sentiment": "tiny-sentiment"}, inflight=32) as tl:
        before = tl.backend.answered_by()  # type: ignore[attr-defined]  # ListModels reads
        assert con.execute("SELECT count(sentiment(s)) FROM t").fetchone() == (2048,)
        after = tl.backend.answered_by()  # type: ignore[attr-defined]
    answered = {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}
    # 32 Sentiment RPCs, and maybe a model-version re-read (every 2 s) in between.
    assert 32 <= sum(answered.values()) <= 34 and len(answered) >= 2, answered


def replica_actors() -> set[str]:
    return {
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if "SERVE_REPLICA" in a["name"] and "TextlensReplica" in a["name"]
    }


def test_a_replica_killed_mid_query_loses_no_row(cluster: str) -> None:
    """Point 3: every row answered exactly once, or a clear error and no table."""
    import threading

    import duckdb

    from textlens.connectors.duckdb import register

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i, 'killed mid-run ' || i AS s FROM range(40000) r(i)")
    outcome: dict[str, Any] = {}
    with register(con, cluster, models={"sentiment": "tiny-sentiment"}, timeout=120) as tl:

        def query() -> None:
            try:
                con.execute("CREATE TABLE out AS SELECT i, sentiment(s) AS label FROM t")
            except Exception as exc:
                outcome["error"] = exc

        before = replica_actors()
        thread = threading.Thread(target=query)
        thread.start()
        deadline = time.monotonic() + 120
        while tl.stats().calls < 2 and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)  # polling real progress: chunks answered by the replicas
        assert thread.is_alive(), "the query finished before a replica could be killed"
        victim = sorted(before)[0]
        ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
        thread.join(300)
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "error" in outcome:
            assert "out" not in tables, "a failed CREATE TABLE left a partial table"
            assert "textlens" in str(outcome["error"]).lower(), outcome["error"]
        else:
            counts = con.execute(
                "SELECT count(*), count(DISTINCT i), count(label) FROM out"
            ).fetchone()
            assert counts == (40000, 40000, 40000), counts
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # Serve replaces the killed replica
        alive = replica_actors()
        if victim not in alive and len(alive) >= 2:
            break
        time.sleep(0.5)
    assert victim not in replica_actors() and len(replica_actors()) >= 2, replica_actors()
    print(f"\nray: replica killed mid-query: {'error' if 'error' in outcome else 'all rows'}")


def test_back_pressure_is_resource_exhausted_and_the_client_retries(
    cluster: str, config: Path
) -> None:
    """Point 5 (last: it redeploys the app with one request per replica, no queue)."""
    import concurrent.futures

    from textlens.client import Client
    from textlens.server.ray_serve.app import run
    from textlens.server.settings import RaySettings

    ports = {"grpc_port": int(cluster.rsplit(":", 1)[1])}
    tight = RaySettings.from_config(config).model_copy(
        update={**ports, "max_ongoing_requests": 1, "max_queued_requests": 1}
    )
    run(config, tight)
    texts = [f"back pressure {i} " * 20 for i in range(400)]

    def raw_call(_: int) -> str:
        with grpc.insecure_channel(cluster) as channel:
            stub = pb_grpc.TextAnalysisStub(channel)
            try:
                stub.Sentiment(pb.SentimentRequest(texts=texts), metadata=APP, timeout=60)
                return "OK"
            except grpc.RpcError as exc:
                return str(exc.code().name)  # type: ignore[attr-defined]

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(raw_call, range(24)))
    assert "RESOURCE_EXHAUSTED" in codes and set(codes) <= {"OK", "RESOURCE_EXHAUSTED"}, codes

    def client_call(_: int) -> int:
        with Client(cluster, timeout=120, retries=30, backoff=0.05) as client:
            return len(client.sentiment(texts))

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        assert list(pool.map(client_call, range(12))) == [400] * 12
    print(f"\nray: back-pressure: {codes.count('RESOURCE_EXHAUSTED')} of 24 raw calls refused")
