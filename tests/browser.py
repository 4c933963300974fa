"""The `page` fixture: a page of Debian's Chromium (/usr/bin/chromium) driven by Playwright.

Playwright's own browser download does not work here and is never used. Without Chromium the
browser tests skip, or fail when REQUIRE_SERVICES=1.
"""

import base64
import os
import threading
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test's thread; the ORM calls of the test around
# it are still plain synchronous code, so Django's async-safety guard must not refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def in_own_thread(work):
    """Run `work()` on a database connection of its own, as another request would, and return its
    result (ORM calls made while Playwright's loop runs would otherwise open a connection that the
    teardown never closes)."""
    from django.db import connection

    result: dict = {}

    def run():
        try:
            result["value"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture
def page():
    if not CHROMIUM.exists():
        message = f"Debian's Chromium is required at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message} (REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


# axe-core's audit, answering with only what serious_violations() reports: its whole answer (every
# offending node's markup and messages) is copied out of the browser and checked by Playwright
# for nothing.
_AXE_SERIOUS = """options => axe.run(options).then(results => results.violations
    .filter(violation => violation.impact === "serious" || violation.impact === "critical")
    .map(violation => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.slice(0, 3).map(node => node.target),
    })))"""


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each
    (rule, impact, the first offending elements), so that a failing test says what to fix."""
    from axe_playwright_python.base import AXE_SCRIPT
    from axe_playwright_python.sync_playwright import DEFAULT_OPTIONS

    # axe-core (570 kB) is injected once per document: a second audit of the same page, at another
    # viewport size, runs the copy already there.
    if not page.evaluate("() => typeof window.axe === 'object' && typeof window.axe.run === 'function'"):
        page.evaluate(AXE_SCRIPT)
    return [
        f"{page.url}: {violation['id']} ({violation['impact']}): {violation['help']} — "
        + ", ".join(str(target) for target in violation["targets"])
        for violation in page.evaluate(_AXE_SERIOUS, DEFAULT_OPTIONS)
    ]


class Screenshots:
    """Full-page screenshots of every step of a browser test, numbered in a folder it prints.

    The folder is under SCREENSHOTS_DIR when set (CI keeps it), else under pytest's tmp_path."""

    def __init__(self, page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self._devtools = None
        print(f"screenshots: {self.folder}")

    def take(self, name: str) -> Path:
        """Chromium's own capture of the whole page through the DevTools protocol: the same PNG,
        byte for byte, as page.screenshot(full_page=True), in half the time (Playwright's own
        also resizes the viewport, and hides the text caret, which shows here if a field has it)."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        if self._devtools is None:
            self._devtools = self.page.context.new_cdp_session(self.page)
        width, height = self.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        shot = self._devtools.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@pytest.fixture
def screenshots(page, request, tmp_path):
    base = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else tmp_path
    return Screenshots(page, base / request.node.name)
