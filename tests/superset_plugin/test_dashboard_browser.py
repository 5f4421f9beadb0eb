"""Headless Chromium opens each bootstrapped dashboard: every chart renders, none shows an
error or a warning.

Leaves the screenshots in $TEXTLENS_ARTIFACTS (default .build/artifacts/) for
CI and for docs/superset-dashboard.png and docs/market-pulse.png, each tagged
with the digest of the dashboard it shows and the number of reviews behind it
(PNG text chunks), which test_docs_screenshots.py checks the docs' copies by.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from textlens.superset_tools.bundle import BOARDS as BUNDLED
from textlens.superset_tools.dashboard import Board

from .helpers import (
    ADMIN,
    ARTIFACTS,
    DIGEST_KEY,
    E2E_REVIEWS,
    REVIEWS_KEY,
    SCREENSHOTS,
    board_digest,
    with_png_text,
)

pytestmark = pytest.mark.superset

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--window-size=1600,1900",
)
#: What a rendered chart contains: echarts canvas, a table, the big number.
RENDERED = "canvas, svg, table, .header-line"
#: Error displays of Superset's charts (alerts, the error tooltip of a failed query).
ERRORS = ".ant-alert-error, [role='alert'], [data-test='error-tooltip']"
WARNING_ICON = "[role='img'][aria-label='warning']"
LOADING = "[data-test='loading-indicator'], .loading"
RENDER_TIMEOUT = 240.0


@pytest.fixture
def browser(chromium: tuple[Path, Path], tmp_path: Path) -> Iterator[Any]:
    binary, driver = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(str(driver)), options=options)
    session.set_page_load_timeout(120)
    yield session
    session.quit()


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1.0)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def log_in(browser: Any, url: str, attempts: int = 3) -> None:
    """Log in through Superset's own login page, as a person would.

    The page is a React form: on a busy machine it can re-render between the
    typing and the click, and the submit then goes out with empty fields and
    stays on /login (CI saw it once, on the first dashboard). So the typed
    values are checked before the click, and a login that did not leave the
    page is tried again from a fresh page; the last failure says what the page
    showed and leaves a screenshot.
    """
    shown = ""
    for _ in range(attempts):
        browser.get(url + "/login/")
        wait_for(lambda: browser.find_elements(By.ID, "username"), 60, "the login form")
        for field, value in (("username", ADMIN[0]), ("password", ADMIN[1])):
            box = browser.find_element(By.ID, field)
            box.clear()
            box.send_keys(value)
        typed = [
            browser.find_element(By.ID, f).get_attribute("value") for f in ("username", "password")
        ]
        if typed != list(ADMIN):
            continue  # the form re-rendered under the typing
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "/login" in browser.current_url:
            time.sleep(1.0)
        if "/login" not in browser.current_url:
            return
        shown = browser.find_element(By.TAG_NAME, "body").text[:300]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "superset-login-failed.png"))
    raise AssertionError(
        f"login did not finish after {attempts} attempts; the page showed: {shown!r}"
    )


#: (dashboard, screenshot file name)
BOARDS = [(next(b for b in BUNDLED if b.slug == slug), name) for slug, name in SCREENSHOTS]


@pytest.mark.parametrize(("board", "shot_name"), BOARDS, ids=[b.slug for b, _ in BOARDS])
def test_dashboard_renders_every_chart(
    bootstrapped: Any, superset: Any, browser: Any, board: Board, shot_name: str
) -> None:
    charts = board.charts
    log_in(browser, superset.url)

    browser.get(f"{superset.url}/superset/dashboard/{board.slug}/")

    def charts_done() -> list[Any] | None:
        holders = browser.find_elements(By.CSS_SELECTOR, "[data-test='chart-grid-component']")
        if len(holders) < len(charts) or browser.find_elements(By.CSS_SELECTOR, LOADING):
            return None
        done = all(
            h.find_elements(By.CSS_SELECTOR, RENDERED) or h.find_elements(By.CSS_SELECTOR, ERRORS)
            for h in holders
        )
        return holders if done else None

    holders = wait_for(charts_done, RENDER_TIMEOUT, f"{len(charts)} charts to render")
    # The whole dashboard in the screenshot: a window as tall as the page (charts redraw).
    page = browser.execute_script("return document.documentElement.scrollHeight")
    viewport = browser.execute_script("return window.innerHeight")
    if page > viewport:
        size = browser.get_window_size()
        browser.set_window_size(size["width"], size["height"] + page - viewport)
        holders = wait_for(charts_done, RENDER_TIMEOUT, "the charts to redraw")
    time.sleep(2.0)  # echarts animates its first frame
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / shot_name
    tags = {DIGEST_KEY: board_digest(board), REVIEWS_KEY: str(E2E_REVIEWS)}
    shot.write_bytes(with_png_text(browser.get_screenshot_as_png(), tags))
    print(f"\nscreenshot: {shot}")

    names = {h.get_attribute("data-test-chart-name") for h in holders}
    assert names == {c.name for c in charts}
    for holder in holders:
        name = holder.get_attribute("data-test-chart-name")
        errors = [e.text for e in holder.find_elements(By.CSS_SELECTOR, ERRORS)]
        assert not errors, f"chart {name!r} shows an error: {errors}"
        assert holder.find_elements(By.CSS_SELECTOR, RENDERED), f"chart {name!r} did not render"
        assert "No results" not in holder.text, f"chart {name!r} has no data"
    # Superset's warning triangle (e.g. "The row limit set for the chart was reached.
    # The chart may show partial data.") must not appear on the shipped dashboard.
    warnings = browser.find_elements(By.CSS_SELECTOR, WARNING_ICON)
    assert not warnings, f"{len(warnings)} warning icon(s) on the dashboard"
    assert shot.stat().st_size > 50_000
