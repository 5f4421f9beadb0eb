"""Fixtures shared by the whole test suite.

Sections (add new fixtures to the section they belong to, or start one):

* Environment: the suite never reaches the Hugging Face hub.
* Paths: the repository and the shared data beside the checkout.
* Tiny models: random, few-kB Hugging Face models built at test time, for
  exercising the real loading and inference code without the packaged models.

This module is imported by every test, including the client tests that run in
the torch-free base install: import heavy libraries inside the fixtures.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO_ROOT, SHARED_DATA, say
from tests.pki import make_pki
from tests.tiny_models import TINY_TOML, build_tiny_models

# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------

#: Set before any test module is imported: huggingface_hub and tokenizers read
#: them once, at import time, so a fixture alone would come too late.
#: TEXTLENS_CACHE_DIR: exported ONNX files and measured engine choices of this session,
#: shared by the servers the tests start (never the user's ~/.cache).
TEST_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TEXTLENS_CACHE_DIR": os.environ.get("TEXTLENS_TEST_CACHE_DIR")
    or tempfile.mkdtemp(prefix="textlens-test-cache-"),
    # Tests compare answers across calls: an engine switched in mid-test by a background
    # measurement would move them (within the gates). Background measurement has its own
    # tests (tests/server/inference/test_background_measurement.py).
    "TEXTLENS_MEASURE_ENGINES": "at_load",
}
os.environ.update(TEST_ENV)


@pytest.fixture(scope="session", autouse=True)
def offline_env() -> Iterator[dict[str, str]]:
    """Keep the hub offline and tokenizers single-process for the whole session."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in TEST_ENV.items():
            mp.setenv(name, value)
        yield dict(TEST_ENV)


# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that reads ../shared/data says so with `@pytest.mark.shared_data`, so
    `-m "not shared_data"` runs everything else on a machine without the data."""
    unmarked = [
        item.nodeid
        for item in items
        if "shared_data" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("shared_data") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests that use the shared_data fixture must be marked "
            f"@pytest.mark.shared_data: {unmarked}"
        )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data directory; tests that use it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"needs the shared data directory {SHARED_DATA} (`../shared/data` beside the "
            "checkout), which is absent here; CI provides it"
        )
    return SHARED_DATA


# --------------------------------------------------------------------------
# Tiny models
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random BERT models saved with `save_pretrained`, by name.

    `tiny-sequence` (BertForSequenceClassification, negative/positive),
    `tiny-token` (BertForTokenClassification, O and B-/I- PER, ORG, LOC, MISC) and
    `tiny-encoder` (BertModel); each directory also holds the shared fast
    WordPiece tokenizer (vocab: TINY_VOCAB). Hidden size 32, 2 layers, 2 heads,
    128 positions. Treat them as read-only: copy one to modify it.
    """
    pytest.importorskip("torch", reason="the tiny models need the `models` extra")
    pytest.importorskip("transformers", reason="the tiny models need the `models` extra")
    return build_tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture
def tiny_sentence_registry(tiny_models_dir: dict[str, Path]) -> Iterator[Any]:
    """The tiny sentiment model served by sentence (`sentences = true`) on float32 torch,
    as a registry of its own ("tiny"); closed after the test."""
    from textlens.server.assembly import load_models
    from textlens.server.settings import ModelSpec

    spec = ModelSpec(
        name="tiny",
        task="sentiment",
        source=str(tiny_models_dir["tiny-sequence"]),
        sentences=True,
        device="cpu",
        backend="torch",
        dtype="float32",
    )
    registry = load_models([spec])
    yield registry
    registry.close()


@pytest.fixture(scope="session")
def tiny_config(tiny_models_dir: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `textlens serve --config` TOML serving the tiny models (see TINY_TOML)."""
    path = tmp_path_factory.mktemp("duckdb-config") / "tiny.toml"
    path.write_text(
        TINY_TOML.format(
            sequence=tiny_models_dir["tiny-sequence"],
            token=tiny_models_dir["tiny-token"],
            encoder=tiny_models_dir["tiny-encoder"],
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def tiny_server(tiny_config: Path) -> Iterator[Any]:
    """A real `textlens serve` child process over the tiny models, on a loopback port."""
    from textlens.server.process import ServerProcess

    with ServerProcess(tiny_config, env={"OMP_NUM_THREADS": "1"}) as server:
        yield server


# ---------------------------------------------------------------------------
# Served models and servers (need the `models` extra)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def default_served() -> Iterator[list[Any]]:
    """The embedded default models (ServedModel), loaded once per test session."""
    from textlens.server.assembly import load_models
    from textlens.server.settings import default_models

    registry = load_models(default_models())
    yield list(registry.models.values())
    registry.close()


@pytest.fixture
def inprocess_server(default_served: list[Any]) -> Iterator[Callable[..., Any]]:
    """Start real gRPC servers (in this process) over the loaded models with custom knobs.

    `start({"max_wait_ms": 25.0}, max_texts_per_request=...)`: model knobs first,
    then server settings; each server gets fresh batchers over the shared models.
    """
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    started: list[InProcessServer] = []

    def start(model_knobs: dict[str, Any] | None = None, **settings: Any) -> InProcessServer:
        server = InProcessServer(rebatch(default_served, **(model_knobs or {})), **settings)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# --------------------------------------------------------------------------
# TLS: a CA and certificates made at test time
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PEM files from `make_pki`: ca, server_cert/key, client_cert/key, wrong_* the same."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def ray_local(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A local 2-CPU Ray cluster for the session; reports start-up seconds and peak memory."""
    pytest.importorskip("ray", reason="needs textlens[ray] (pip install 'textlens[ray]')")
    import ray

    from tests.ray_local import RayLocal, start_local_ray

    memory, seconds = start_local_ray()
    say(request.config, f"\nray: local cluster (2 CPUs) up in {seconds:.1f}s")
    try:
        yield RayLocal(ray, memory)
    finally:
        memory.stop()
        memory.sample()
        say(request.config, "\n" + memory.report())
        ray.shutdown()
