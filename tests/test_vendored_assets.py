"""The vendored front-end assets are intact, self-contained and usable offline.

These tests read only the committed files and
``portal/static/vendor/VENDORED.json`` (written by
``scripts/vendor_assets.py``); they need no network and no npm.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = REPO_ROOT / "portal" / "static" / "vendor" / "VENDORED.json"
BOOTSTRAP_ITALIA_CSS = "portal/static/vendor/bootstrap-italia/css"
LTR_CSS = f"{BOOTSTRAP_ITALIA_CSS}/bootstrap-italia.min.css"
RTL_CSS = f"{BOOTSTRAP_ITALIA_CSS}/bootstrap-italia.rtl.min.css"
FONTS_CSS = f"{BOOTSTRAP_ITALIA_CSS}/fonts.css"

CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)""", re.IGNORECASE)
NOT_A_FILE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|/|#)", re.IGNORECASE)
REMOTE_URL_FUNCTION = re.compile(r"""url\(\s*["']?\s*(?:https?:|//)[^)]{0,60}""", re.IGNORECASE)
REMOTE_IMPORT = re.compile(
    r"""@import\s+(?:url\(\s*)?["']?\s*(?:https?:|//)[^;]{0,60}""", re.IGNORECASE
)


@pytest.fixture(scope="module")
def vendored_files() -> dict[str, str]:
    """Map every vendored file (repo-relative path) to its recorded sha256."""
    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    files = {
        path: digest
        for package in manifest["packages"].values()
        for path, digest in package["files"].items()
    }
    assert files, "the manifest lists no vendored files"
    return files


def read_text(path: str) -> str:
    """Return a vendored text file's content, without any byte-order mark."""
    return (REPO_ROOT / path).read_text(encoding="utf-8-sig")


def declarations(css: str, selector: str) -> str:
    """Return the declarations of the first rule whose selector is exactly ``selector``."""
    match = re.search(r"(?:^|[{}])" + re.escape(selector) + r"\{([^}]*)\}", css)
    assert match is not None, f"no rule for {selector!r}"
    return match.group(1)


def test_every_vendored_file_matches_its_recorded_checksum(vendored_files):
    """Each file listed in VENDORED.json exists and has exactly the recorded sha256."""
    problems = []
    for path, expected in sorted(vendored_files.items()):
        file = REPO_ROOT / path
        if not file.is_file():
            problems.append(f"missing: {path}")
        elif hashlib.sha256(file.read_bytes()).hexdigest() != expected:
            problems.append(f"altered: {path}")
    assert not problems, "re-run scripts/vendor_assets.py:\n" + "\n".join(problems)


def test_every_relative_url_in_vendored_css_points_to_a_vendored_file(vendored_files):
    """Fonts and images referenced by a vendored stylesheet are vendored next to it."""
    checked = 0
    broken = []
    for path in sorted(p for p in vendored_files if p.endswith(".css")):
        for groups in CSS_URL.findall(read_text(path)):
            url = next(g for g in groups if g)
            if NOT_A_FILE.match(url):
                continue
            target = posixpath.normpath(
                posixpath.join(posixpath.dirname(path), re.split(r"[?#]", url, maxsplit=1)[0])
            )
            checked += 1
            if target not in vendored_files or not (REPO_ROOT / target).is_file():
                broken.append(f"{path}: {url}")
    assert checked, "no relative url() was found; the fonts stylesheet should have some"
    assert not broken, "unresolved url() references:\n" + "\n".join(broken)


def test_rtl_stylesheet_mirrors_start_and_end_margins():
    """``.ms-3`` is a left margin in the LTR stylesheet and a right margin in the RTL one."""
    ltr, rtl = read_text(LTR_CSS), read_text(RTL_CSS)
    assert ltr != rtl
    assert "margin-left:" in declarations(ltr, ".ms-3")
    assert "margin-right:" in declarations(rtl, ".ms-3")
    assert "margin-right:" in declarations(ltr, ".me-3")
    assert "margin-left:" in declarations(rtl, ".me-3")


def test_rtl_stylesheet_keeps_phone_email_url_and_number_inputs_left_to_right():
    """In RTL pages these inputs stay LTR, as Bootstrap Italia's own RTL directive intends."""
    rule = '[type="tel"],[type="url"],[type="email"],[type="number"]{direction:ltr}'
    assert rule in read_text(RTL_CSS)
    assert rule not in read_text(LTR_CSS)


def test_rtl_stylesheet_leaves_physically_placed_tooltip_arrows_alone():
    """A tooltip Popper puts on the right keeps its arrow on its left side in RTL too."""
    arrow = (
        ".bs-tooltip-end .tooltip-arrow,"
        ".bs-tooltip-auto[data-popper-placement^=right] .tooltip-arrow"
    )
    assert declarations(read_text(RTL_CSS), arrow) == declarations(read_text(LTR_CSS), arrow)


def test_fonts_stylesheet_declares_the_bootstrap_italia_fonts_without_javascript():
    """fonts.css declares woff2 faces with font-display: swap for all three families."""
    css = read_text(FONTS_CSS)
    for family in ("Titillium Web", "Lora", "Roboto Mono"):
        assert f'font-family: "{family}";' in css
    faces = css.count("@font-face")
    assert faces == css.count("font-display: swap;")
    assert faces == css.count('format("woff2")')


def test_no_vendored_css_or_js_fetches_anything_from_another_host(vendored_files):
    """No url() or @import in vendored CSS/JS points at an http(s) or protocol-relative URL."""
    offenders = []
    for path in sorted(p for p in vendored_files if p.endswith((".css", ".js"))):
        text = read_text(path)
        offenders += [f"{path}: {m.group(0)}" for m in REMOTE_URL_FUNCTION.finditer(text)]
        offenders += [f"{path}: {m.group(0)}" for m in REMOTE_IMPORT.finditer(text)]
    assert not offenders, "remote fetches in vendored assets:\n" + "\n".join(offenders)
