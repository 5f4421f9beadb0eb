"""Helpers the tests of tests/superset_plugin share (import them; conftest.py holds only fixtures)."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from tests.helpers import REPO_ROOT

SUPERSET_VENV = Path(os.environ.get("TEXTLENS_SUPERSET_VENV", REPO_ROOT / ".venv-superset"))


CHROMIUM = Path("/usr/bin/chromium")


CHROMEDRIVER = Path("/usr/bin/chromedriver")


#: Reviews in the e2e warehouse: every chart has data, enrich stays well under a minute.
#: (docs/superset-dashboard.png is this test's screenshot at TEXTLENS_E2E_REVIEWS=3000.)
E2E_REVIEWS = int(os.environ.get("TEXTLENS_E2E_REVIEWS", "600"))


#: Headlines in the e2e warehouse: the demo's stream as shipped (the incident needs its
#: volume; fitting the topics takes about half a minute, the monitor about fifteen seconds).
E2E_NEWS = int(os.environ.get("TEXTLENS_E2E_NEWS", "4000"))


#: Where the browser test leaves its screenshot (a CI artifact).
ARTIFACTS = Path(os.environ.get("TEXTLENS_ARTIFACTS", REPO_ROOT / ".build" / "artifacts"))


ADMIN = ("admin", "admin")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


#: The docs' screenshots: (dashboard slug, file name in docs/ and in ARTIFACTS).
SCREENSHOTS = (
    ("voice-of-the-customer", "superset-dashboard.png"),
    ("market-pulse", "market-pulse.png"),
)
#: PNG text keys the browser test writes into each screenshot it takes.
DIGEST_KEY = "textlens-dashboard"
REVIEWS_KEY = "textlens-reviews"


def board_digest(board: Any) -> str:
    """A digest of everything the bundle says about `board`: layout, charts, their datasets.

    The browser test writes it into its screenshot; test_docs_screenshots.py compares the
    committed docs/*.png with it, so a dashboard changed without a new screenshot fails.
    """
    parts = [board.config()]
    for chart in board.charts:
        parts += [chart.config(), chart.dataset.config("database", "/monitor")]
    text = json.dumps(parts, sort_keys=True)
    return f"{board.slug} {hashlib.sha256(text.encode()).hexdigest()[:16]}"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of each chunk of a PNG."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    chunks, at = [], 8
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        chunks.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + size]))
        at += 12 + size
    return chunks


def png_text(data: bytes) -> dict[str, str]:
    """The tEXt entries of a PNG (keyword -> text)."""
    out = {}
    for kind, body in png_chunks(data):
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
    return out


def with_png_text(data: bytes, entries: dict[str, str]) -> bytes:
    """`data` with tEXt chunks for `entries` added just before its IEND chunk."""
    extra = b""
    for key, value in entries.items():
        body = key.encode("latin-1") + b"\0" + value.encode("latin-1")
        crc = zlib.crc32(b"tEXt" + body)
        extra += struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", crc)
    end = data.rindex(b"IEND") - 4
    return data[:end] + extra + data[end:]
