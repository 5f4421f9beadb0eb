"""Issue 12 (interop): a Node.js client gets the answers the Python client gets.

tests/reliability/node/interop.js (@grpc/grpc-js + @grpc/proto-loader at the
versions pinned in its package.json and package-lock.json) loads
proto/textlens/v1/textlens.proto and calls every TextAnalysis RPC plus
grpc.health.v1 Health/Check over TLS with a bearer token, against a real server
this module starts in-process; the Python client asks the same questions. Labels,
model names and versions must be equal, probabilities, scores and vectors equal
within 1e-6, and entity spans equal once Node's UTF-16 (and UTF-8 byte) offsets
are converted to code points, where JavaScript's own slicing at those offsets
must also give back each entity's text. Node must also be refused: no or a wrong
token (UNAUTHENTICATED), a read token reloading (PERMISSION_DENIED), plaintext
and a wrong CA (UNAVAILABLE).

The npm packages come from the `node_modules` fixture (node_install.py).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch", reason="serving needs the `models` extra")

from textlens.client import Client, NotScored

pytestmark = pytest.mark.reliability

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
PROTO = REPO_ROOT / "proto" / "textlens" / "v1" / "textlens.proto"

READ_TOKEN = "node-reader-3c9e"
ADMIN_TOKEN = "node-operator-b71d"
TOL = 1e-6
NODE_SECONDS = 300

#: gRPC status codes as @grpc/grpc-js numbers them (grpc.status).
PERMISSION_DENIED, UNAVAILABLE, UNAUTHENTICATED = 7, 14, 16

SENTIMENT_TEXTS = [
    "I love this phone, the battery lasts two days 😀",
    "Terrible service 😡😡 — it broke after a day.",
    "Siemens will report its third-quarter results on November 12.",
    "",
    "Ça marche très bien, je recommande 👍🏽",
]
ASPECT_PAIRS = [
    ("Tesla shares jump 🚀 while Ford slips on weak guidance", "Tesla"),
    ("Tesla shares jump 🚀 while Ford slips on weak guidance", "Ford"),
    ("The battery is great but the screen scratches easily", "screen"),
    ("The battery is great but the screen scratches easily", "price"),
    ("𝒲ow: the prices are outrageous 💸", "price"),
]
#: Astral characters (emoji, ZWJ sequences, flags, mathematical letters) before,
#: between and after entities, so UTF-16, code-point and UTF-8 offsets all differ.
ENTITY_TEXTS = [
    "🎉 Angela Merkel met Siemens executives in Berlin 🇩🇪 on Monday.",
    "👩\u200d💻 Tim Cook 😀😀 visited Paris, then flew to Tokyo 🗼.",
    "𝒜𝒷𝒸 report: Microsoft and Google opened offices in London 🇬🇧 and Munich.",
    "Café owner José Martínez moved from München to Zürich.",
    "no entities here 🙂",
    "",
]
EMBED_TEXTS = ["a sentence about phones 📱", "Ein Satz über Berlin 🇩🇪", "", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🧪"]
CLASSIFY = {
    "texts": ["Shares fell 5% after the results 📉", "The striker scored twice ⚽", "🍝 recipes"],
    "labels": ["sports", "finance", "cooking"],
    "hypothesis_template": "This text is about {}.",
}


# --------------------------------------------------------------------------
# The server and both clients' answers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(
    default_served: Any, pki: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    # An empty model registry: ReloadModels succeeds and has nothing to reload.
    registry = tmp_path_factory.mktemp("node-interop-registry")
    with InProcessServer(
        rebatch(default_served),
        tls_cert=pki["server_cert"],
        tls_key=pki["server_key"],
        read_tokens=[READ_TOKEN],
        admin_token=ADMIN_TOKEN,
        registry=registry,
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def mtls_server(default_served: Any, pki: dict[str, Path]) -> Iterator[Any]:
    """The same models behind mTLS: client certificates from the test CA, and a token."""
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    with InProcessServer(
        rebatch(default_served),
        tls_cert=pki["server_cert"],
        tls_key=pki["server_key"],
        tls_client_ca=pki["ca"],
        read_tokens=[READ_TOKEN],
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def node(
    node_modules: Path,
    server: Any,
    mtls_server: Any,
    pki: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """What interop.js answered (its OUT_JSON)."""
    work = tmp_path_factory.mktemp("node-interop")
    inputs = {
        "textlens_proto": str(PROTO),
        "health_proto": str(NODE_DIR / "health.proto"),
        "sentiment": {"texts": SENTIMENT_TEXTS},
        "aspect": {"texts": [t for t, _ in ASPECT_PAIRS], "targets": [a for _, a in ASPECT_PAIRS]},
        "entities": {"texts": ENTITY_TEXTS},
        "embed": {"texts": EMBED_TEXTS},
        "classify": CLASSIFY,
        "reload": {"admin_token": ADMIN_TOKEN, "names": []},
        "refusals": {"wrong_ca": str(pki["wrong_ca"]), "wrong_token": "not-a-token"},
        "mtls": {
            "target": mtls_server.target,
            "cert": str(pki["client_cert"]),
            "key": str(pki["client_key"]),
            "wrong_cert": str(pki["wrong_client_cert"]),
            "wrong_key": str(pki["wrong_client_key"]),
        },
    }
    (work / "inputs.json").write_text(json.dumps(inputs, ensure_ascii=False), encoding="utf-8")
    out = work / "out.json"
    command = [
        shutil.which("node") or "node",
        str(NODE_DIR / "interop.js"),
        server.target,
        str(pki["ca"]),
        READ_TOKEN,
        str(work / "inputs.json"),
        str(out),
    ]
    env = os.environ | {"NODE_PATH": str(node_modules)}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=NODE_SECONDS, env=env
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"interop.js took longer than {NODE_SECONDS} s: {exc.stderr!r}")
    assert done.returncode == 0 and out.is_file(), (
        f"interop.js exited {done.returncode}:\n{done.stdout}\n{done.stderr}\n"
        + (out.read_text() if out.is_file() else "(no output)")
    )
    answers: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return answers


@pytest.fixture(scope="module")
def python(server: Any, pki: dict[str, Path]) -> Iterator[Client]:
    with Client(server.target, tls=str(pki["ca"]), token=READ_TOKEN, timeout=60, retries=0) as c:
        yield c


def ok(answer: Any) -> Any:
    """A Node answer, failing with its status when the call failed."""
    assert isinstance(answer, dict) and "error" not in answer, f"Node's call failed: {answer}"
    return answer


def served(python: Client, task: str) -> Any:
    (info,) = [m for m in python.list_models() if m.task == task and m.is_default]
    return info


def assert_close(node_value: float, python_value: float, what: str) -> None:
    assert math.isclose(node_value, python_value, rel_tol=0, abs_tol=TOL), (
        f"{what}: Node {node_value!r} vs Python {python_value!r}"
    )


def assert_probabilities(
    node_map: dict[str, float], python_map: dict[str, float], what: str
) -> None:
    assert set(node_map) == set(python_map), f"{what}: labels {node_map} vs {python_map}"
    for label, value in python_map.items():
        assert_close(node_map[label], value, f"{what}[{label}]")


# --------------------------------------------------------------------------
# Offsets
# --------------------------------------------------------------------------


def code_points_from_utf16(text: str, offset: int) -> int:
    return len(text.encode("utf-16-le")[: 2 * offset].decode("utf-16-le"))


def code_points_from_utf8(text: str, offset: int) -> int:
    return len(text.encode("utf-8")[:offset].decode("utf-8"))


TO_CODE_POINTS = {
    "OFFSET_UNIT_CODE_POINT": lambda text, offset: offset,
    "OFFSET_UNIT_UTF16": code_points_from_utf16,
    "OFFSET_UNIT_UTF8_BYTE": code_points_from_utf8,
}


def test_offset_conversions_round_trip() -> None:
    text = "👩\u200d💻 Tim 😀 é"
    assert code_points_from_utf16(text, 2) == 1  # 👩 is two UTF-16 units
    assert code_points_from_utf16(text, len(text.encode("utf-16-le")) // 2) == len(text)
    assert code_points_from_utf8(text, 4) == 1 and code_points_from_utf8(text, 0) == 0


# --------------------------------------------------------------------------
# Node and Python agree
# --------------------------------------------------------------------------


def test_node_runs_the_pinned_client(node: dict[str, Any]) -> None:
    pinned = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]
    assert node["grpc_js"] == pinned["@grpc/grpc-js"]
    assert node["proto_loader"] == pinned["@grpc/proto-loader"]
    assert "overran" not in node and "crashed" not in node


def test_sentiment(node: dict[str, Any], python: Client) -> None:
    answer = ok(node["sentiment"])
    info = served(python, "sentiment")
    assert (answer["model"], answer["model_version"]) == (info.name, info.version)
    expected = python.sentiment(SENTIMENT_TEXTS)
    assert len(answer["results"]) == len(expected)
    for i, (got, want) in enumerate(zip(answer["results"], expected, strict=True)):
        assert want is not None
        if isinstance(want, NotScored) and want.reason == "empty":  # no text, no opinion
            why = got["not_scored"]
            assert (got["label"], why["reason"], why["language"]) == ("", "empty", "")
            continue
        if isinstance(want, NotScored):  # the French text: the default model reads English
            why = got["not_scored"]
            assert (got["label"], why["reason"], why["language"]) == ("", "language", "fr")
            assert_close(why["confidence"], want.confidence, f"sentiment[{i}].confidence")
            continue
        assert not got["not_scored"], f"text {i}"
        assert got["label"] == want.label, f"text {i}"
        assert_close(got["score"], want.score, f"sentiment[{i}].score")
        assert_probabilities(got["probabilities"], want.probabilities, f"sentiment[{i}]")


def test_aspect_sentiment(node: dict[str, Any], python: Client) -> None:
    answer = ok(node["aspect"])
    info = served(python, "aspect")
    assert (answer["model"], answer["model_version"]) == (info.name, info.version)
    expected = python.aspect_sentiment([t for t, _ in ASPECT_PAIRS], [a for _, a in ASPECT_PAIRS])
    assert [r["mentioned"] for r in answer["results"]] == [e is not None for e in expected]
    assert [r["mentioned"] for r in answer["results"]] == [True, True, True, False, True]
    for i, (got, want) in enumerate(zip(answer["results"], expected, strict=True)):
        if want is None:  # not mentioned: no label, score or probabilities
            assert (got["label"], got["score"], got["probabilities"]) == ("", 0, {})
            continue
        assert got["label"] == want.label, f"pair {i}"
        assert_close(got["score"], want.score, f"aspect[{i}].score")
        assert_probabilities(got["probabilities"], want.probabilities, f"aspect[{i}]")


@pytest.mark.parametrize("unit", sorted(TO_CODE_POINTS))
def test_entities_in_every_offset_unit(node: dict[str, Any], python: Client, unit: str) -> None:
    answer = ok(node["entities"][unit])
    info = served(python, "ner")
    assert (answer["model"], answer["model_version"]) == (info.name, info.version)
    # JavaScript's own slicing at the offsets (String.slice for UTF-16) gives each entity.
    slices = node["entity_slices"][unit]
    bad = [(i, s) for i, spans in enumerate(slices) for s in spans if not s["ok"]]
    assert not bad, f"{unit}: slices that are not the entity's text: {bad}"
    expected = python.entities(ENTITY_TEXTS)
    convert = TO_CODE_POINTS[unit]
    for i, (text, got, want) in enumerate(
        zip(ENTITY_TEXTS, answer["results"], expected, strict=True)
    ):
        assert want is not None
        spans = [
            (e["text"], e["label"], convert(text, e["start"]), convert(text, e["end"]))
            for e in got["entities"]
        ]
        assert spans == [(e.text, e.label, e.start, e.end) for e in want], f"{unit} text {i}"
        assert all(text[s:e] == t for t, _, s, e in spans)
        for j, (g, w) in enumerate(zip(got["entities"], want, strict=True)):
            assert_close(g["score"], w.score, f"{unit} entities[{i}][{j}].score")
    assert any(answer["results"][i]["entities"] for i in range(3)), "no entity found at all"


def test_entity_offsets_differ_by_unit_where_astral_characters_precede(
    node: dict[str, Any],
) -> None:
    """The emoji before 'Angela Merkel' moves its UTF-16 start by 2 units, not 1."""
    first = {
        unit: ok(node["entities"][unit])["results"][0]["entities"][0] for unit in TO_CODE_POINTS
    }
    assert {e["text"] for e in first.values()} == {"Angela Merkel"}
    assert first["OFFSET_UNIT_CODE_POINT"]["start"] == 2  # "🎉 "
    assert first["OFFSET_UNIT_UTF16"]["start"] == 3
    assert first["OFFSET_UNIT_UTF8_BYTE"]["start"] == 5


@pytest.mark.parametrize(
    ("variant", "dtype", "normalize"),
    [("float32", "float32", True), ("float16", "float16", True), ("raw", "float32", False)],
)
def test_embed(
    node: dict[str, Any], python: Client, variant: str, dtype: Any, normalize: bool
) -> None:
    import numpy as np

    answer = ok(node["embed"][variant])
    info = served(python, "embed")
    assert (answer["model"], answer["model_version"]) == (info.name, info.version)
    assert answer["dim"] == info.dim and answer["normalized"] is normalize
    wire = "VECTOR_DTYPE_FLOAT16" if dtype == "float16" else "VECTOR_DTYPE_FLOAT32"
    assert answer["dtype"] == wire
    width = 2 if dtype == "float16" else 4
    assert answer["byte_length"] == len(EMBED_TEXTS) * info.dim * width
    expected = python.embed(EMBED_TEXTS, dtype=dtype, normalize=normalize)
    got = np.asarray(answer["vectors"], dtype=np.float64)
    want = np.stack([np.asarray(v, dtype=np.float64) for v in expected if v is not None])
    assert got.shape == want.shape == (len(EMBED_TEXTS), info.dim)
    worst = float(np.max(np.abs(got - want)))
    assert worst <= TOL, f"{variant}: vectors differ by up to {worst}"
    if normalize:
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=2e-3 if width == 2 else 1e-5)


def test_classify(node: dict[str, Any], python: Client) -> None:
    answer = ok(node["classify"])
    info = served(python, "embed")  # zero-shot runs on the default embedding model
    assert (answer["model"], answer["model_version"]) == (info.name, info.version)
    expected = python.classify(
        CLASSIFY["texts"],
        labels=CLASSIFY["labels"],
        hypothesis_template=str(CLASSIFY["hypothesis_template"]),
    )
    for i, (got, want) in enumerate(zip(answer["results"], expected, strict=True)):
        assert want is not None
        assert got["label"] == want.label, f"text {i}"
        assert_probabilities(got["scores"], want.scores, f"classify[{i}]")


def test_list_models(node: dict[str, Any], python: Client) -> None:
    got = {m["name"]: m for m in ok(node["list_models"])["models"]}
    want = {m.name: m for m in python.list_models()}
    assert list(got) == list(want)
    for name, info in want.items():
        node_info = got[name]
        for field in (
            "task",
            "labels",
            "version",
            "device",
            "dtype",
            "max_length",
            "source",
            "is_default",
            "dim",
            "backend",
            "backend_reason",
            "languages",
            "other_languages",
        ):
            assert node_info[field] == getattr(info, field), f"{name}.{field}"


def test_health(node: dict[str, Any], python: Client) -> None:
    assert ok(node["health"]["server"]) == {"status": "SERVING"}
    assert ok(node["health"]["text_analysis"]) == {"status": "SERVING"}
    assert python.health() and python.health("textlens.v1.TextAnalysis")


def test_reload_models_with_the_operator_token(node: dict[str, Any], python: Client) -> None:
    # The registry is empty: a successful reload with nothing to swap, as Python sees it.
    assert ok(node["reload"]) == {"models": []}
    assert python.reload_models(token=ADMIN_TOKEN) == []


# --------------------------------------------------------------------------
# Node is refused where it must be
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("no_token", UNAUTHENTICATED, "token"),
        ("no_token_list_models", UNAUTHENTICATED, "token"),
        ("no_token_health", UNAUTHENTICATED, "token"),
        ("wrong_token", UNAUTHENTICATED, "token"),
        ("read_token_reload", PERMISSION_DENIED, "may only read"),
        ("plaintext", UNAVAILABLE, ""),
        ("wrong_ca", UNAVAILABLE, "certificate"),
    ],
)
def test_node_is_refused(node: dict[str, Any], case: str, code: int, says: str) -> None:
    refusal = node["refusals"][case]
    assert refusal["code"] == code, f"{case}: {refusal}"
    assert says in (refusal.get("details") or ""), f"{case}: {refusal}"


def test_node_over_mtls(node: dict[str, Any]) -> None:
    """With a client certificate from the server's client CA Node is answered; without
    one, or with one from another CA, the handshake fails (UNAVAILABLE)."""
    mtls = node["mtls"]
    assert "error" not in mtls["with_cert"], mtls["with_cert"]
    assert mtls["with_cert"]["results"][0]["label"] == "positive"
    for case in ("no_cert", "wrong_cert"):
        assert mtls[case]["code"] == UNAVAILABLE, (case, mtls[case])
