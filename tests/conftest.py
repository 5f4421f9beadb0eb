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

REPO_ROOT = Path(__file__).resolve().parents[1]
#: `../shared/data` beside the checkout (see ../shared/README.md); CI always has it.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


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


def _words(text: str) -> list[str]:
    return text.split()


SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: Whole words, so the sentences tests use become real pieces rather than
#: letter-by-letter fallbacks. Lowercase: the tokenizer is uncased.
TINY_WORDS = _words("""
    the a an and or but not no of to in on at by for with from as is are was were be been
    it its this that these those there here he she they we you i me my our your his her their
    them us who what which when where why how all some any one two three first last new old
    do does did done have has had will would can could should may might must just very too
    so than then also only more most much many few other such same own up down out over
    about after before again into through during between under while because if
    good great best better fine nice excellent wonderful amazing brilliant fantastic superb
    perfect lovely beautiful happy fun funny charming delightful enjoyable moving clever
    bad worse worst awful terrible horrible boring dull poor weak sad ugly annoying stupid
    disappointing mess waste slow long short loud quiet
    love loved like liked enjoy enjoyed hate hated recommend want need think thought feel
    felt see saw seen watch watched make made get got go went come came say said know knew
    work works worked play played plays look looks looked give gave take took keep kept
    movie movies film films story plot acting actor actors cast director script scene scenes
    ending music performance character characters time year years day days people man woman
    world life thing things way lot place food service product price team game company
    city country government news report market week month today yesterday
    mr mrs ms dr president minister chief executive ceo
    john mary smith alice bob james david paul peter anna maria michael sarah tom
    paris london berlin tokyo york washington china france germany britain england japan
    europe america american european english french german british chinese italy italian
    spain spanish russia moscow india canada brazil australia africa
    google microsoft apple amazon reuters ibm intel sony toyota nasa un eu fifa
    united states nations kingdom union university bank inc corp ltd club league cup
    monday tuesday wednesday thursday friday saturday sunday
    january february march april june july august september october november december
""")
SUFFIX_PIECES = _words("""
    ##s ##es ##ed ##ing ##ly ##er ##ers ##est ##ion ##tion ##ment ##ness ##ful ##less
    ##able ##al ##ic ##ist ##ism ##ity ##ive ##ous ##y ##ie ##an ##ian ##en ##on ##son ##ton
    ##ia ##land ##berg ##burg ##ville
""")
PUNCTUATION = [*".,!?;:'\"()[]-_/&%$#@*+=<>", "..."]
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
DIGITS = [str(d) for d in range(10)]
#: Single characters and their ##-continuations: any ASCII word tokenizes
#: without [UNK], however rare.
TINY_VOCAB: list[str] = list(
    dict.fromkeys(
        SPECIAL_TOKENS
        + PUNCTUATION
        + DIGITS
        + LETTERS
        + TINY_WORDS
        + SUFFIX_PIECES
        + [f"##{c}" for c in LETTERS + DIGITS]
    )
)

TINY_HIDDEN = 32
TINY_MAX_POSITIONS = 128
SENTIMENT_LABELS = {0: "negative", 1: "positive"}
NER_LABELS = dict(
    enumerate(["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"])
)
#: name -> (transformers class, id2label or None, torch seed)
TINY_MODELS: dict[str, tuple[str, dict[int, str] | None, int]] = {
    "tiny-sequence": ("BertForSequenceClassification", SENTIMENT_LABELS, 1),
    "tiny-token": ("BertForTokenClassification", NER_LABELS, 2),
    "tiny-encoder": ("BertModel", None, 3),
}


def build_tiny_models(root: Path) -> dict[str, Path]:
    """Write the tiny models (weights, config, fast tokenizer) under `root`.

    Deterministic: the same transformers/torch versions write the same weights.
    """
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    vocab_dir = root / "vocab"
    vocab_dir.mkdir(parents=True)
    (vocab_dir / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    # Built from the vocab file. In transformers 5 BertTokenizerFast is an alias of
    # BertTokenizer, the tokenizers-backed class (not in its type hints); in 4.x it is
    # the fast twin of the Python BertTokenizer. Either way: offsets need is_fast.
    tokenizer = transformers.BertTokenizerFast.from_pretrained(  # type: ignore[attr-defined]
        vocab_dir, model_max_length=TINY_MAX_POSITIONS
    )
    if not tokenizer.is_fast:
        raise RuntimeError(f"{type(tokenizer).__name__} is not a fast tokenizer")

    paths: dict[str, Path] = {}
    for name, (class_name, id2label, seed) in TINY_MODELS.items():
        config = transformers.BertConfig(
            vocab_size=len(TINY_VOCAB),
            hidden_size=TINY_HIDDEN,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=TINY_MAX_POSITIONS,
        )
        if id2label is not None:
            config.id2label = dict(id2label)
            config.label2id = {label: i for i, label in id2label.items()}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = getattr(transformers, class_name)(config)
        directory = root / name
        model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        paths[name] = directory
    return paths


#: One tiny model per task (DuckDB's register defines every function family), as a
#: `textlens serve` config to `.format(**tiny_models_dir paths)`. On the CPU on every
#: host: suites compare answers to 1e-5, which needs the same kernels (the GPU path has
#: its own tests under the `gpu` marker).
TINY_TASK_MODELS_TOML = """
[[models]]
name = "tiny-sentiment"
task = "sentiment"
source = "{sequence}"
device = "cpu"
max_wait_ms = 1

[[models]]
name = "tiny-aspect"
task = "aspect"
source = "{sequence}"
device = "cpu"
max_wait_ms = 1

[[models]]
name = "tiny-ner"
task = "ner"
source = "{token}"
device = "cpu"
max_wait_ms = 1

[[models]]
name = "tiny-embed"
task = "embed"
source = "{encoder}"
device = "cpu"
max_wait_ms = 1
"""


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


#: How far one text's scores may move with the batch it shares (padding, companions):
#: float32 only rounds; bf16 rounds at 8 bits; int8 quantizes activations per batch.
BATCH_TOLERANCE = {"float32": 1e-4, "float16": 2e-2, "bfloat16": 2e-2, "int8": 6e-2}


def batch_tolerance(served: Any) -> float:
    """The score tolerance for comparing one served model's answers across batches."""
    return BATCH_TOLERANCE[served.info().dtype]


def same_batch_tolerance(served: Any) -> float:
    """The tolerance for the same texts in the same batch computed twice: on the CPU the
    same kernels give the same bits (1e-5 allows for float32 printing); CUDA kernels may
    sum in another order per launch, so there the model's batch tolerance applies."""
    return 1e-5 if served.info().device.startswith("cpu") else batch_tolerance(served)


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


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write_pem(path: Path, key: Any, cert: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _certificate(
    subject: str, key: Any, issuer: tuple[str, Any] | None, *, ca: bool, server: bool = False
) -> Any:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(root: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a
    second ("wrong") CA with its own server and client certificates, as PEM files."""
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for prefix in ("", "wrong_"):
        ca_key = _key()
        ca_name = f"textlens test {prefix or 'good_'}ca"
        ca_cert = _certificate(ca_name, ca_key, None, ca=True)
        _write_pem(root / f"{prefix}ca", ca_key, ca_cert)
        for role in ("server", "client"):
            key = _key()
            cert = _certificate(
                f"{prefix}{role}", key, (ca_name, ca_key), ca=False, server=role == "server"
            )
            _write_pem(root / f"{prefix}{role}", key, cert)
            out[f"{prefix}{role}_cert"] = root / f"{prefix}{role}.pem"
            out[f"{prefix}{role}_key"] = root / f"{prefix}{role}.key"
        out[f"{prefix}ca"] = root / f"{prefix}ca.pem"
    return out


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PEM files from `make_pki`: ca, server_cert/key, client_cert/key, wrong_* the same."""
    return make_pki(tmp_path_factory.mktemp("pki"))


#: What the tiny `topics` classifiers are trained on; also the texts the reload tests ask about.
TOPIC_TEXTS = ["the game was good", "bank prices fell", "paris is a city", "a team won the cup"]


def publish_tiny_topics(registry: Path, base: Path, labels: tuple[str, str]) -> str:
    """Train a tiny classifier over `base` on TOPIC_TEXTS with two `labels`, and make
    it the registry's next `topics` version; returns the version ("v1", "v2", ...).

    Disjoint label sets per version make the version that answered visible in
    every result (the reload and version re-read tests rely on it).
    """
    from textlens.server.model_store import ModelStore
    from textlens.server.training.trainer import TrainConfig, train_text_classifier

    rows = [(f"{t} {i}", labels[i % 2]) for i, t in enumerate(TOPIC_TEXTS * 4)]
    cfg = TrainConfig(base=str(base), epochs=1, batch_size=8, max_length=16, evals_per_epoch=1)
    store = ModelStore(registry)
    with store.staging() as staged:
        train_text_classifier(rows, rows, "classify", staged, cfg)
        return store.publish("topics", staged)


def publish_broken_version(registry: Path, name: str, copy_of: Path) -> str:
    """Publish a copy of the model directory `copy_of` as `name`'s next version with its
    delta cut in half (as an interrupted copy leaves it) and make it current; returns
    the version ("v1", "v2", ...)."""
    import shutil

    from textlens.server.model_store import CURRENT_FILE

    numbers = [int(p.name[1:]) for p in registry.joinpath(name).glob("v*") if p.name[1:].isdigit()]
    version = f"v{max(numbers, default=0) + 1}"
    shutil.copytree(copy_of, registry / name / version)
    delta = registry / name / version / "delta.safetensors"
    delta.write_bytes(delta.read_bytes()[: delta.stat().st_size // 2])
    (registry / name / CURRENT_FILE).write_text(f"{version}\n")
    return version


def say(config: pytest.Config, line: str) -> None:
    """A line in pytest's own output, also without -s (measurements worth seeing in CI)."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


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
