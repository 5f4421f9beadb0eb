"""The docs show the dashboards the demo builds: every chart named, the screenshots current.

docs/superset.md names each chart of both dashboards by its title, and its two
screenshots carry the digest of the dashboard they were taken of (the browser
test writes it into each PNG it saves). Change a chart, its dataset or the
layout, and this fails until the screenshots are taken again:

    TEXTLENS_E2E_REVIEWS=3000 .venv/bin/python -m pytest -m superset \\
        tests/superset_plugin/test_dashboard_browser.py
    cp .build/artifacts/superset-dashboard.png .build/artifacts/market-pulse.png docs/
"""

from __future__ import annotations

import pytest

from tests.helpers import REPO_ROOT
from tests.superset_plugin.helpers import (
    DIGEST_KEY,
    REVIEWS_KEY,
    SCREENSHOTS,
    board_digest,
    png_text,
    with_png_text,
)
from textlens.superset_tools.bundle import BOARDS

DOCS = REPO_ROOT / "docs"
#: The demo's reviews (`make superset-demo`): what the docs' screenshot shows.
DEMO_REVIEWS = "3000"
BY_SLUG = {board.slug: board for board in BOARDS}


@pytest.mark.parametrize(("slug", "name"), SCREENSHOTS)
def test_the_docs_screenshot_is_of_the_dashboard_as_bundled(slug: str, name: str) -> None:
    text = png_text((DOCS / name).read_bytes())
    rerun = f"docs/{name} is not a screenshot of {slug} as bundled now: see {__file__}"
    assert text.get(DIGEST_KEY) == board_digest(BY_SLUG[slug]), rerun
    assert text.get(REVIEWS_KEY) == DEMO_REVIEWS, f"docs/{name}: take it with the demo's reviews"


@pytest.mark.parametrize("slug", [s for s, _ in SCREENSHOTS])
def test_the_docs_name_every_chart(slug: str) -> None:
    docs = (DOCS / "superset.md").read_text(encoding="utf-8")
    missing = [c.name for c in BY_SLUG[slug].charts if f'"{c.name}"' not in docs]
    assert not missing, f"docs/superset.md does not name these charts of {slug}: {missing}"


def test_png_text_round_trip() -> None:
    png = (DOCS / "market-pulse.png").read_bytes()
    tagged = with_png_text(png, {"k": "v w", "other": "x"})
    assert png_text(tagged) == {**png_text(png), "k": "v w", "other": "x"}
    assert tagged.endswith(png[-12:])  # IEND stays last
