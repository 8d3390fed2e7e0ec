"""Real-browser test plumbing: Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium_page(timeout_ms: int = 30_000) -> Iterator:
    """One headless Chromium tab; skips the test when Chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: install Debian's chromium package to run browser tests")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PLAYWRIGHT_BROWSERS_PATH", "0")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.set_default_timeout(timeout_ms)
        try:
            yield tab
        finally:
            browser.close()


@contextmanager
def serving(home: Path, **start) -> Iterator:
    """A live server of `home` for one browser test module, stopped after it."""
    from tests.live import LiveServer

    live = LiveServer(home, "hst").start(**start)
    try:
        yield live
    finally:
        live.stop()


def shown(locator, timeout_ms: int = 15_000) -> bool:
    """Whether `locator` (its first match) becomes visible within the timeout.

    Playwright's `is_visible()` answers at once, so right after a click that
    loads a page it can look at the old one; this waits, as a person would.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.first.wait_for(state="visible", timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    return True


SECOND_CONTEXT = """
import sys
sys.path.insert(0, {root!r})
from django.conf import settings
from tests.builders import CatalogBuilder
from tests.web_helpers import derive_context
print(derive_context(CatalogBuilder(settings), "hst_0001.pmap", "acs", "darkfile")["pmap"])
"""


def demo_home_with_second_context(home: Path) -> Path:
    """A demo HST server home whose catalog also holds hst_0002.pmap (one ACS dark dropped)."""
    from tests.live import manage

    manage(home, "hst", "demo", "--observatory", "hst")
    root = str(Path(__file__).resolve().parents[1])
    manage(home, "hst", "shell", "-c", SECOND_CONTEXT.format(root=root))
    return home
