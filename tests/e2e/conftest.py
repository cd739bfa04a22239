"""Browser tests: the real app served by uvicorn on loopback, driven by headless Chromium.

``serve(app)`` (a fixture) runs ``harness.web`` (create_app over a RuntimeLink over the appliance on
the virtual clock) under uvicorn in a thread on 127.0.0.1, port 0 (the kernel picks), and
yields its base URL once uvicorn says it has started (an event, never a sleep). The appliance
does not move by itself: the test advances its clock (``harness.run``).

Chromium is Debian's (/usr/bin/chromium), launched by Playwright through
``executable_path``; Playwright's own browser download is never used. ``shoot(page, name)``
saves a full-page screenshot under test-artifacts/ and, with BRANCHLINE_DOC_SCREENSHOTS=1,
under docs/img/ as well. ``full_page=False`` takes the window's size from the top of the page,
for a page whose pane must be shown scrolled where it was: Chromium's full-page capture resizes
the window for a moment, which sets a pane's sideways scroll back to 0.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback_server import served
from playwright.sync_api import Browser, Page, sync_playwright
from runtime_harness import bank_url, prompts_dir  # noqa: F401 (fixtures)

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOC_IMAGES = ROOT / "docs" / "img"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def _shoot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """A screenshot as test-artifacts/<name>.png (and docs/img/ when asked)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if not full_page:
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("BRANCHLINE_DOC_SCREENSHOTS") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        (DOC_IMAGES / f"{name}.png").write_bytes(path.read_bytes())
    return path


@pytest.fixture
def shoot():
    """``shoot(page, name, full_page=True)``: save a screenshot (module docstring)."""
    return _shoot


@pytest.fixture
def serve():
    """``with serve(app) as base_url:`` the app on loopback (module docstring)."""
    return served
