"""End-to-end fixtures: the real app served on 127.0.0.1 from a thread, and Debian's
Chromium driven by Playwright (never a downloaded browser).

Without Chromium these tests skip on a developer's machine; with ``CI=true`` they fail.
Screenshots of the main pages go to ``tests/e2e/screenshots/`` (git-ignored) for review.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import IN_CI
from tests.web.conftest import ACCOUNTS, PASSWORD, make_app
from web.solves import wait_for_all_solves

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the machines run as root
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _chromium() -> str | None:
    for name in (os.environ.get("WBL_CHROMIUM"), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = _chromium()
    if executable is None:
        if IN_CI:
            pytest.fail("Chromium not found; .ci/run should have installed Debian's chromium")
        pytest.skip("Chromium is not installed on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def live(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The app over a fresh database (SQLite, then PostgreSQL) holding the tiny term and the
    test accounts."""
    app = make_app(db_url, tmp_path / "tiny", TESTING=False)
    with LiveServer(app) as server:
        yield server
    assert wait_for_all_solves(120), "a background solve did not finish"
    app.extensions["wbl_engine"].dispose()


@pytest.fixture
def page_as(browser: object, live: LiveServer) -> Iterator[Callable[..., object]]:
    """``page_as("host_a")``: a new browser page signed in through the login form;
    ``phone=True`` gives a phone-sized one."""
    contexts = []

    def make(who: str, *, phone: bool = False) -> object:
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        context = browser.new_context(viewport=viewport, base_url=live.url)  # type: ignore[attr-defined]
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if who != "anonymous":
            page.goto("/login")
            page.get_by_label("Email").fill(ACCOUNTS[who][0])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
