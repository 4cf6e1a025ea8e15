"""Real-browser journeys: the app served on a loopback port, driven by a local Chromium.

Journeys run on SQLite only (the database layer is tested on both backends elsewhere).
One Chromium (and one with JavaScript switched off) serves the whole test session;
each test starts with no cookies. Nothing here ever downloads a browser or a driver:
both paths are given, and Selenium Manager is told to stay offline. With
``REQUIRE_BROWSER=1`` a missing Chromium fails the tests instead of skipping them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from portal.demo.services import seed
from support import skip_or_fail  # tests/ is on sys.path (tests/conftest.py puts it there)

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--password-store=basic",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``browser`` (so ``-m "not browser"`` skips them)."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def backend() -> str:
    """Browser journeys run on SQLite only."""
    return "sqlite"


@pytest.fixture
def live_server(app: Flask, session: Session) -> Iterator[str]:
    """The app, with the demo agency loaded, served on a free loopback port; yields its base URL."""
    seed(session)
    session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield "http://127.0.0.1:{}".format(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _start_chromium(profile: Path, javascript: bool) -> WebDriver:
    """A headless Chromium on the system's binaries, with its console log kept for checks."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            reason = "{} is not installed (apt-get install chromium chromium-driver)".format(path)
            skip_or_fail(reason, "REQUIRE_BROWSER")
    # Selenium Manager must never fetch a browser or driver; with both paths given it is
    # not even consulted, and offline mode is the belt to those braces.
    os.environ["SE_OFFLINE"] = "true"
    options = Options()
    options.binary_location = CHROMIUM
    for argument in CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    options.add_argument("--user-data-dir={}".format(profile))
    prefs: dict[str, object] = {"intl.accept_languages": "en-US,en"}
    if not javascript:
        options.add_argument("--blink-settings=scriptEnabled=false")
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


@contextlib.contextmanager
def _chromium_in_throwaway_profile(javascript: bool) -> Iterator[WebDriver]:
    """A Chromium in a fresh profile directory, removed with the browser."""
    profile = Path(tempfile.mkdtemp(prefix="porta-chromium-"))
    try:
        driver = _start_chromium(profile, javascript=javascript)
        try:
            yield driver
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def _chromium() -> Iterator[WebDriver]:
    """The session's Chromium."""
    with _chromium_in_throwaway_profile(javascript=True) as driver:
        yield driver


@pytest.fixture(scope="session")
def _chromium_nojs() -> Iterator[WebDriver]:
    """The session's Chromium with JavaScript switched off."""
    with _chromium_in_throwaway_profile(javascript=False) as driver:
        yield driver


def _fresh(driver: WebDriver) -> WebDriver:
    """Forget the previous test: blank page, no cookies, no console entries."""
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.get_log("browser")
    return driver


@pytest.fixture
def browser(_chromium: WebDriver) -> WebDriver:
    """The shared Chromium, with no cookies and an empty console log."""
    return _fresh(_chromium)


@pytest.fixture
def browser_nojs(_chromium_nojs: WebDriver) -> WebDriver:
    """The shared JavaScript-less Chromium, with no cookies: citizen pages must work in it."""
    return _fresh(_chromium_nojs)
