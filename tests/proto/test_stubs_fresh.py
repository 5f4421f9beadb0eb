"""The committed textlens.v1 stubs are exactly what `make proto` generates now."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "proto" / "textlens" / "v1"
GEN_SCRIPT = ROOT / "scripts" / "gen_proto.py"
FIX = "run `make proto` (scripts/gen_proto.py) and commit the result"

pytest.importorskip("grpc_tools", reason="needs grpcio-tools (the `dev` extra)")


def generated_files(directory: Path) -> dict[str, bytes]:
    """Generated modules in a textlens/v1 directory (not the .proto source), by name."""
    return {
        p.name: p.read_bytes()
        for p in sorted(directory.iterdir())
        if p.is_file() and p.suffix in (".py", ".pyi")
    }


def committed_grpc_version() -> str:
    text = (COMMITTED / "textlens_pb2_grpc.py").read_text(encoding="utf-8")
    match = re.search(r"^GRPC_GENERATED_VERSION = '([^']+)'$", text, re.MULTILINE)
    assert match, f"no GRPC_GENERATED_VERSION in {COMMITTED / 'textlens_pb2_grpc.py'}; {FIX}"
    return match.group(1)


def test_generated_stubs_match_committed(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(GEN_SCRIPT), "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"{GEN_SCRIPT.name} failed:\n{proc.stdout}\n{proc.stderr}"
    fresh = generated_files(tmp_path / "textlens" / "v1")
    committed = generated_files(COMMITTED)
    assert fresh, f"{GEN_SCRIPT.name} generated nothing under {tmp_path}"

    problems = [
        f"{name}: missing from proto/textlens/v1"
        for name in sorted(fresh.keys() - committed.keys())
    ]
    problems += [
        f"{name}: committed but no longer generated (delete it)"
        for name in sorted(committed.keys() - fresh.keys())
    ]
    problems += [
        f"{name}: differs from freshly generated code"
        for name in sorted(fresh.keys() & committed.keys())
        if fresh[name] != committed[name]
    ]
    assert not problems, (
        "proto/textlens/v1 is out of date with proto/textlens/v1/textlens.proto "
        f"or with grpcio-tools {importlib.metadata.version('grpcio-tools')}:\n  "
        + "\n  ".join(problems)
        + f"\n{FIX}"
    )


def test_grpc_tools_version_matches_committed_stubs() -> None:
    installed = importlib.metadata.version("grpcio-tools")
    generated_with = committed_grpc_version()
    assert installed == generated_with, (
        f"the committed stubs were generated with grpcio-tools {generated_with}, but "
        f"{installed} is installed; install the version pinned in pyproject.toml "
        f"(pip install -e '.[dev]'), or, to move to {installed}, pin it there, {FIX}"
    )


def test_pyproject_pins_match_committed_stubs() -> None:
    """grpcio-tools is pinned to the stubs' version and grpcio is at least that."""
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    generated_with = committed_grpc_version()
    deps = [d.replace(" ", "") for d in project["dependencies"]]
    dev = [d.replace(" ", "") for d in project["optional-dependencies"]["dev"]]
    assert f"grpcio-tools=={generated_with}" in dev, (
        f"pyproject.toml's dev extra must pin grpcio-tools=={generated_with}, the version "
        "the committed stubs were generated with"
    )
    assert f"grpcio>={generated_with}" in deps, (
        f"pyproject.toml must require grpcio>={generated_with}: the committed "
        "textlens_pb2_grpc.py refuses to import with an older grpcio"
    )
    header = (COMMITTED / "textlens_pb2.py").read_text(encoding="utf-8")
    match = re.search(r"^# Protobuf Python Version: (\d+)\.(\d+)\.(\d+)$", header, re.MULTILINE)
    assert match, f"no protobuf version header in textlens_pb2.py; {FIX}"
    major = int(match.group(1))
    protobuf_pin = f"protobuf>={'.'.join(match.groups())},<{major + 1}"
    assert protobuf_pin in deps, (
        f"pyproject.toml must require {protobuf_pin}: textlens_pb2.py checks the "
        "protobuf runtime against the version it was generated for"
    )
