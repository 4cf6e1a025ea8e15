"""Helpers for real-browser journeys: open a page at a viewport, check it, keep a picture.

Every journey drives the one Chromium the session shares (see ``conftest.py``). The
helpers only observe the page: nothing here loosens the app's Content-Security-Policy
(axe is injected through WebDriver, which the page's CSP does not govern).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
AXE_SOURCE = HERE / "vendor" / "axe.min.js"

#: Inner viewport sizes (CSS pixels): a common phone, and a common laptop.
PHONE: tuple[int, int] = (390, 844)
DESKTOP: tuple[int, int] = (1366, 900)

#: The WCAG levels the portal promises (AgID guidelines: WCAG 2.1 AA).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

PAGE_LOAD_TIMEOUT = 15

#: Console messages that mean the page did not get all it asked for.
CONSOLE_PROBLEMS = ("Content Security Policy", "Failed to load resource")


def set_viewport(driver: WebDriver, viewport: tuple[int, int]) -> None:
    """Make the page's inner viewport exactly ``viewport`` CSS pixels.

    Uses DevTools device-metrics emulation, so the size does not depend on the window
    manager or browser chrome; the phone size also emulates a mobile device, so the
    page's ``<meta name="viewport">`` is honoured as on a real phone.
    """
    width, height = viewport
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": viewport == PHONE},
    )


def wait_until_loaded(driver: WebDriver, timeout: float = PAGE_LOAD_TIMEOUT) -> None:
    """Wait until ``document.readyState`` is ``complete`` (stylesheets, scripts and images loaded)."""
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete",
        "page did not finish loading",
    )


def open_page(driver: WebDriver, url: str, viewport: tuple[int, int]) -> None:
    """Open ``url`` with an inner viewport of ``viewport`` and wait until it has loaded.

    Also waits for web fonts, so layout measurements and screenshots see the final text.
    """
    set_viewport(driver, viewport)
    driver.get(url)
    wait_until_loaded(driver)
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "(document.fonts ? document.fonts.ready : Promise.resolve()).then(() => done(true), () => done(false));"
    )
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    assert tuple(inner) == tuple(viewport), "viewport is {}, wanted {}".format(inner, viewport)


def assert_axe_clean(driver: WebDriver, label: str) -> None:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the current page; fail on any violation.

    The failure lists, for each violation, the rule id, its impact, what it asks for,
    and the first few elements (CSS selectors) that break it. ``label`` names the page
    and viewport in the message.
    """
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE_SOURCE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
          .then(r => done({violations: r.violations.map(v => ({
              id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
              targets: v.nodes.map(n => n.target.join(" ")),
              summary: v.nodes.length ? v.nodes[0].failureSummary : ""}))}))
          .catch(e => done({error: String(e && e.stack || e)}));
        """,
        AXE_TAGS,
    )
    assert "error" not in result, "axe could not run on {}: {}".format(label, result["error"])
    violations: list[dict[str, Any]] = result["violations"]
    if violations:
        lines = ["{} accessibility violation(s) on {}:".format(len(violations), label)]
        for v in violations:
            targets = v["targets"]
            shown = ", ".join(targets[:4]) + (" (+{} more)".format(len(targets) - 4) if len(targets) > 4 else "")
            lines.append("- {} [{}] {}: {}".format(v["id"], v["impact"], v["help"], shown))
            if v["summary"]:
                lines.append("    " + v["summary"].replace("\n", "\n    "))
        raise AssertionError("\n".join(lines))


def save_screenshot(driver: WebDriver, name: str) -> Path:
    """Save a PNG of the whole page (not just the viewport) as ``test-artifacts/<name>.png``.

    ``name`` says what and how, e.g. ``home-ar-phone``. Returns the file's path.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    viewport = metrics.get("cssLayoutViewport") or metrics["layoutViewport"]
    clip = {
        "x": 0,
        "y": 0,
        "width": viewport["clientWidth"],
        "height": min(max(size["height"], viewport["clientHeight"]), 16000),
        "scale": 1,
    }
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = ARTIFACTS / "{}.png".format(name)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _shorten_data_urls(text: str) -> str:
    """``data:font/woff;base64,d09G...`` (kilobytes) becomes ``data:font/woff;base64,d09GRgABAAAA…``."""
    return re.sub(r"(data:[^,\s'\"]*,[^\s'\")]{0,16})[^\s'\")]*", "\\1…", text)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def assert_only_own_origin(driver: WebDriver, base_url: str) -> None:
    """Fail if the page fetched anything from another origin, or the console shows a block.

    Checks the navigation and every resource in the page's performance timeline
    (stylesheets, fonts, scripts, icons) against ``base_url``'s origin, and the
    browser console log (read since the last call) for Content-Security-Policy
    violations and resources that failed to load.
    """
    own = _origin(base_url)
    urls: list[str] = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => e.name)"
    )
    assert urls, "the page's performance timeline is empty"
    # A data: URL is part of a stylesheet already fetched, not a request: the CSP check
    # below still reports it if the policy refuses it.
    foreign = [url for url in urls if not url.startswith("data:") and _origin(url) != own]
    assert not foreign, "the page loaded from other origins than {}:\n{}".format(base_url, "\n".join(foreign))

    problems = [
        "{} {}".format(entry.get("level"), _shorten_data_urls(entry.get("message", "")))
        for entry in driver.get_log("browser")
        if any(marker in entry.get("message", "") for marker in CONSOLE_PROBLEMS)
    ]
    assert not problems, "the browser console reports blocked or failed loads:\n{}".format("\n".join(problems))
