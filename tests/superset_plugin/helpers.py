"""Helpers the tests of tests/superset_plugin share (import them; conftest.py holds only fixtures)."""

from __future__ import annotations

import os
from pathlib import Path

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
