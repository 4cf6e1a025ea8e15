#!/usr/bin/env python3
"""Vendor the project's front-end assets from the npm registry into the tree.

Why this exists: the portal must not load anything from a CDN or any other
host at run time (privacy of citizens, availability, no third-party
tracking), so the CSS, JavaScript, icon sprites and web fonts it needs are
committed under ``portal/static/vendor/`` and the accessibility engine used
by the browser tests under ``tests/browser/vendor/``.  This script is the
one reproducible way to (re)create those files:

* every package is fetched with the npm client by name and pinned version,
  and its tarball is verified against the sha512 integrity npm reports and
  against the integrity recorded in ``portal/static/vendor/VENDORED.json``
  by the previous run (a different tarball for the same version fails);
* only the files a page needs are copied (no source maps, SCSS, docs or
  legacy font formats);
* the files Bootstrap Italia does not ship but our pages need are generated:
  a right-to-left stylesheet (with rtlcss, as Bootstrap does for its own RTL
  build) and a static ``fonts.css`` (Bootstrap Italia 2.x declares its web
  fonts only from JavaScript, and our citizen pages work without it);
* every written file is recorded with its sha256 in the manifest, and
  ``--check`` verifies the tree against it without any network access.

Usage, from anywhere (paths are computed from this file's location)::

    python scripts/vendor_assets.py           # fetch, verify, write
    python scripts/vendor_assets.py --check   # verify the committed tree only

Needs Python 3.11+ (stdlib only), ``npm`` and ``node`` on PATH for the
fetching mode; ``--check`` needs neither.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# --- Pinned versions -------------------------------------------------------

BOOTSTRAP_ITALIA = "bootstrap-italia"
BOOTSTRAP_ITALIA_VERSION = "2.18.3"
AXE_CORE = "axe-core"
AXE_CORE_VERSION = "4.14.1"
# Build tool only: used to generate the RTL stylesheet, never vendored.
RTLCSS = "rtlcss"
RTLCSS_VERSION = "4.3.0"

# --- Paths (relative to the repository root, derived from this file) -------

REPO_ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = REPO_ROOT / "portal" / "static" / "vendor"
BOOTSTRAP_ITALIA_DIR = VENDOR_DIR / "bootstrap-italia"
AXE_DIR = REPO_ROOT / "tests" / "browser" / "vendor"
MANIFEST_PATH = VENDOR_DIR / "VENDORED.json"

# Directories that this script owns entirely: anything in them that the
# manifest does not list is stale and reported by --check.
OWNED_DIRS = (BOOTSTRAP_ITALIA_DIR,)

# Files taken verbatim from bootstrap-italia's package/dist/ (same layout).
BOOTSTRAP_ITALIA_DIST_FILES = (
    "css/bootstrap-italia.min.css",
    "js/bootstrap-italia.bundle.min.js",
    "svg/sprites.svg",
)
LTR_CSS = "css/bootstrap-italia.min.css"
RTL_CSS = "css/bootstrap-italia.rtl.min.css"
FONTS_CSS = "css/fonts.css"
# Bootstrap Italia 2.x builds its @font-face rules in this JavaScript module.
FONTS_LOADER = "dist/plugins/fonts-loader.js"

# Font formats in order of preference: only the best one present per face is
# vendored (woff2 is supported by every browser we target).
FONT_FORMATS = (("woff2", "woff2"), ("woff", "woff"), ("ttf", "truetype"), ("otf", "opentype"))

TARBALL_ROOT = "package/"

CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)""", re.IGNORECASE)
ABSOLUTE_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|/)", re.IGNORECASE)


class VendorError(Exception):
    """A verification failed; raised so that nothing is written to the tree."""


@dataclass
class VendoredPackage:
    """What one npm package contributes to the tree and to the manifest.

    Kept as one record so that the manifest entry, the files written and the
    generated-file annotations cannot drift apart.
    """

    name: str
    version: str
    integrity: str
    license: str
    files: dict[str, bytes] = field(default_factory=dict)
    generated: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class FontFace:
    """One @font-face as Bootstrap Italia declares it, with its candidate files.

    A typed record instead of a dict so the font code reads plainly.
    """

    family: str
    style: str
    weight: int
    sources: tuple[str, ...]


# --- Small helpers -----------------------------------------------------------


def rel(path: Path) -> str:
    """Return ``path`` relative to the repository root, POSIX style.

    Manifest keys must be the same on every machine, so they are never
    absolute and always use forward slashes.
    """
    return path.resolve().relative_to(REPO_ROOT).as_posix()


def sha256_hex(data: bytes) -> str:
    """Return the sha256 hex digest recorded in the manifest for ``data``.

    sha256 hex is what ``sha256sum`` prints, so a reviewer can check a file
    by hand.
    """
    return hashlib.sha256(data).hexdigest()


def sri_sha512(data: bytes) -> str:
    """Return the Subresource-Integrity style sha512 string of ``data``.

    npm reports tarball integrity in this format, so computing it ourselves
    lets us check that the file on disk is the one npm vouched for.
    """
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def css_urls(css: str) -> list[str]:
    """Return every ``url(...)`` target in a stylesheet, quotes removed.

    Used to check that each relative reference resolves to a vendored file
    (a missing font or image fails silently in a browser).
    """
    return [next(g for g in m.groups() if g is not None) for m in CSS_URL.finditer(css)]


def relative_css_urls(css: str) -> list[str]:
    """Return only the ``url(...)`` targets that point at files next to the CSS.

    ``data:`` URIs, fragment-only references and absolute URLs are not files
    we can or should vendor; absolute ones are rejected separately.
    """
    out = []
    for url in css_urls(css):
        if not url or url.startswith("#") or ABSOLUTE_URL.match(url):
            continue
        out.append(url)
    return out


def strip_query_and_fragment(url: str) -> str:
    """Drop ``?query`` and ``#fragment`` from a relative URL.

    Font URLs often carry ``?#iefix`` or ``#FontName``; the file on disk is
    the part before them.
    """
    return re.split(r"[?#]", url, maxsplit=1)[0]


def find_absolute_fetches(text: str) -> list[str]:
    """Return snippets where CSS/JS would fetch a resource from another host.

    Only ``url(...)`` and ``@import`` are considered: URLs in licence
    comments or XML namespaces are harmless text, not network requests.
    """
    patterns = (
        r"""url\(\s*["']?\s*(?:https?:|//)[^)]{0,60}""",
        r"""@import\s+(?:url\(\s*)?["']?\s*(?:https?:|//)[^;]{0,60}""",
    )
    hits: list[str] = []
    for pattern in patterns:
        hits.extend(m.group(0) for m in re.finditer(pattern, text, re.IGNORECASE))
    return hits


def run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, failing with its stderr shown if it exits non-zero.

    npm prints warnings on stderr even on success; we keep stdout clean for
    ``--json`` parsing and only show stderr when something went wrong.
    """
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VendorError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}"
        )
    return proc


def require_tool(name: str) -> str:
    """Return the path of an executable on PATH, or fail with a clear message.

    The fetching mode needs npm and node; saying so up front beats a
    FileNotFoundError traceback.
    """
    found = shutil.which(name)
    if found is None:
        raise VendorError(f"'{name}' is not on PATH; it is needed to fetch packages")
    return found


# --- Manifest -----------------------------------------------------------------


def load_manifest() -> dict:
    """Load the manifest written by the previous run, or an empty one.

    The previous run's integrity strings are the expectation a re-run must
    meet, so a silently republished or tampered tarball is caught.
    """
    if not MANIFEST_PATH.exists():
        return {}
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))


def expect_recorded_integrity(
    previous: dict, section: str, name: str, version: str, integrity: str
) -> None:
    """Fail if the manifest recorded a different integrity for this version.

    Same name and version must always mean the same bytes; a mismatch means
    the registry (or something in between) served something else.  After a
    deliberate version bump there is nothing to compare against yet.
    """
    recorded = previous.get(section, {}).get(name)
    if not recorded:
        print(f"  {name}@{version}: no integrity recorded yet; recording {integrity[:20]}...")
        return
    if recorded.get("version") != version:
        print(
            f"  {name}: version changes {recorded.get('version')} -> {version}; "
            "recording the new integrity"
        )
        return
    if recorded.get("integrity") != integrity:
        raise VendorError(
            f"{name}@{version}: npm returned a tarball with integrity {integrity}, "
            f"but the manifest records {recorded.get('integrity')}. Refusing to vendor it."
        )
    print(f"  {name}@{version}: integrity matches the manifest")


def verify_sri(data: bytes, integrity: str, what: str) -> None:
    """Check bytes against an SRI string that must contain a sha512 hash.

    We trust npm's report only after recomputing it over the tarball we are
    about to read, and we refuse weaker algorithms.
    """
    sha512_hashes = [h for h in integrity.split() if h.startswith("sha512-")]
    if not sha512_hashes:
        raise VendorError(f"{what}: npm reported no sha512 integrity ({integrity!r})")
    actual = sri_sha512(data)
    if actual not in sha512_hashes:
        raise VendorError(f"{what}: tarball sha512 {actual} does not match npm's {integrity}")


# --- Fetching -----------------------------------------------------------------


def npm_pack(name: str, version: str, dest: Path) -> tuple[Path, str]:
    """Download ``name@version`` with ``npm pack`` and verify its integrity.

    ``npm pack`` fetches the exact published tarball without installing or
    running anything, and reports its integrity in ``--json`` output.
    """
    npm = require_tool("npm")
    proc = run(
        [npm, "pack", f"{name}@{version}", "--json", "--ignore-scripts",
         "--pack-destination", str(dest)],
        cwd=dest,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise VendorError(f"npm pack {name}@{version}: output is not JSON: {exc}") from exc
    if not isinstance(report, list) or len(report) != 1:
        raise VendorError(f"npm pack {name}@{version}: expected one package, got {report!r}")
    entry = report[0]
    if entry.get("name") != name or entry.get("version") != version:
        raise VendorError(
            f"npm pack {name}@{version}: got {entry.get('name')}@{entry.get('version')}"
        )
    tarball = dest / entry["filename"]
    verify_sri(tarball.read_bytes(), entry["integrity"], f"{name}@{version}")
    return tarball, entry["integrity"]


def read_member(tar: tarfile.TarFile, path: str) -> bytes:
    """Return the bytes of one regular file inside an npm tarball.

    Reading members directly (never extracting the archive) means no path in
    the tarball can write outside the places we choose.
    """
    try:
        member = tar.getmember(TARBALL_ROOT + path)
    except KeyError as exc:
        raise VendorError(f"{path} is missing from the package") from exc
    if not member.isfile():
        raise VendorError(f"{path} in the package is not a regular file")
    handle = tar.extractfile(member)
    assert handle is not None
    with handle:
        return handle.read()


def package_json(tar: tarfile.TarFile) -> dict:
    """Return the package's own package.json.

    Its version and licence are cross-checked and recorded in the manifest.
    """
    return json.loads(read_member(tar, "package.json"))


# --- Bootstrap Italia ------------------------------------------------------------


def parse_font_faces(loader_js: str) -> list[FontFace]:
    """Extract the @font-face declarations from Bootstrap Italia's fonts loader.

    Bootstrap Italia 2.x ships no @font-face in its CSS; ``loadFonts()``
    injects them from this module at run time.  Reading the package's own
    declarations keeps family names, weights and styles exactly as upstream
    intends instead of guessing them from file names.
    """
    faces = []
    # A block ends at the first "}" that does not close a ${...} placeholder.
    for block in re.findall(r"@font-face\s*\{((?:\$\{[^}]*\}|[^}])*)\}", loader_js):
        family = re.search(r"font-family:\s*'([^']+)'", block)
        style = re.search(r"font-style:\s*([a-z]+)", block)
        weight = re.search(r"font-weight:\s*(\d+)", block)
        sources = re.findall(r"url\('\$\{__PUBLIC_PATH__\}/([^')]+)'\)", block)
        if not (family and style and weight and sources):
            raise VendorError(f"cannot parse a @font-face block in {FONTS_LOADER}:\n{block}")
        faces.append(
            FontFace(
                family=family.group(1),
                style=style.group(1),
                weight=int(weight.group(1)),
                sources=tuple(strip_query_and_fragment(s) for s in sources),
            )
        )
    if not faces:
        raise VendorError(f"no @font-face found in {FONTS_LOADER}; has font loading changed?")
    return faces


def choose_font_file(sources: tuple[str, ...], available: set[str]) -> tuple[str, str]:
    """Pick the best font file present in the package for one face.

    Modern browsers all read woff2, the smallest format; older formats are
    only a fallback for a face that has no woff2 at all.
    """
    for extension, css_format in FONT_FORMATS:
        for source in sources:
            if source.endswith("." + extension) and source in available:
                return source, css_format
    raise VendorError(f"none of the font files {sources} exists in the package")


def build_fonts_css(faces: list[FontFace], chosen: list[tuple[str, str]]) -> bytes:
    """Render a static stylesheet with one @font-face per vendored face.

    Static rules let the browser load the fonts without JavaScript;
    ``font-display: swap`` shows text in a fallback font at once instead of
    hiding it while the font downloads.
    """
    lines = [
        f"/* Generated by scripts/vendor_assets.py from {BOOTSTRAP_ITALIA} "
        f"{BOOTSTRAP_ITALIA_VERSION} ({FONTS_LOADER}); do not edit.",
        "   Bootstrap Italia 2.x declares these faces only from JavaScript (loadFonts());",
        "   this file declares them statically so pages get their fonts without JavaScript.",
        "   Fonts: Titillium Web and Lora (SIL OFL 1.1), Roboto Mono (Apache 2.0);",
        "   licence texts are next to the font files. */",
        "",
    ]
    for face, (path, css_format) in zip(faces, chosen, strict=True):
        lines += [
            "@font-face {",
            f'  font-family: "{face.family}";',
            f"  font-style: {face.style};",
            f"  font-weight: {face.weight};",
            "  font-display: swap;",
            f'  src: url("../fonts/{path}") format("{css_format}");',
            "}",
            "",
        ]
    return "\n".join(lines).encode("ascii")


def prepare_rtl_source(css: str) -> str:
    """Restore the rtlcss directives that minification stripped from the CSS.

    Bootstrap Italia's SCSS carries rtlcss control comments, but the
    published min.css has lost them, so a naive rtlcss run would (1) flip
    tooltip/popover arrows that Popper places by *physical* side
    (``data-popper-placement^=left|right``), pointing them the wrong way,
    (2) drop the RTL-only rule that keeps phone, URL, e-mail and number
    inputs left-to-right, and (3) keep ``.text-break``, which upstream marks
    ``rtl: false``.  Explicit ``direction:`` declarations (the carousel's
    ``.splide--rtl{direction:rtl}``) are also left alone: they state a
    direction on purpose, and flipping turns the RTL carousel LTR.  Each
    anchor must be found, so an upstream change fails loudly instead of
    producing a subtly wrong stylesheet.
    """
    rule = re.compile(r"(?<=[{}])([^{}@;/]*)\{([^{}]*)\}")
    physical = re.compile(r"data-popper-placement\^=(?:left|right)")
    explicit_direction = re.compile(r"(?:^|;)direction:")
    ignored = {"arrows": 0, "direction": 0}

    def mark(match: re.Match[str]) -> str:
        """Prefix a rule with /*rtl:ignore*/ when it must not be mirrored."""
        selector, body = match.group(1), match.group(2)
        if physical.search(selector):
            ignored["arrows"] += 1
        elif explicit_direction.search(body):
            ignored["direction"] += 1
        else:
            return match.group(0)
        return "/*rtl:ignore*/" + match.group(0)

    css = rule.sub(mark, css)
    if not ignored["arrows"]:
        raise VendorError("RTL: no physically placed tooltip/popover arrow rules found")

    anchor = "::-webkit-search-decoration{"
    if css.count(anchor) != 1:
        raise VendorError(f"RTL: expected exactly one {anchor!r} in the CSS")
    raw = '/*rtl:raw:\n[type="tel"],[type="url"],[type="email"],[type="number"]{direction:ltr}\n*/'
    css = css.replace(anchor, raw + anchor)

    text_break = re.compile(r"(?<=[{}])(\.text-break\{)")
    css, removed = text_break.subn(r"/*rtl:remove*/\1", css)
    if removed != 1:
        raise VendorError(f"RTL: expected exactly one .text-break rule, found {removed}")
    return css


def rule_body(css: str, selector: str) -> str:
    """Return the declarations of the first rule whose selector is exactly ``selector``.

    Used to verify that specific utilities are (or are not) mirrored.
    """
    match = re.search(r"(?:^|[{}])" + re.escape(selector) + r"\{([^}]*)\}", css)
    if match is None:
        raise VendorError(f"rule {selector!r} not found")
    return match.group(1)


def verify_rtl(ltr: str, rtl: str) -> None:
    """Check that the generated RTL stylesheet really mirrors the layout.

    rtlcss exits 0 even when it changed nothing, so we assert concrete flips
    and the directives restored by :func:`prepare_rtl_source`.
    """
    expectations = [
        (".ms-3", "margin-left:", "margin-right:"),
        (".me-3", "margin-right:", "margin-left:"),
        (".float-start", "float:left", "float:right"),
        (".text-start", "text-align:left", "text-align:right"),
    ]
    for selector, in_ltr, in_rtl in expectations:
        if in_ltr not in rule_body(ltr, selector):
            raise VendorError(f"LTR {selector} lacks {in_ltr!r}; has upstream changed?")
        if in_rtl not in rule_body(rtl, selector):
            raise VendorError(f"RTL {selector} lacks {in_rtl!r}: rtlcss did not flip it")
    arrow = (
        ".bs-tooltip-end .tooltip-arrow,"
        ".bs-tooltip-auto[data-popper-placement^=right] .tooltip-arrow"
    )
    if rule_body(ltr, arrow) != rule_body(rtl, arrow):
        raise VendorError("RTL: a physically placed tooltip arrow was flipped")
    if '[type="email"]' not in rtl or "direction:ltr" not in rtl:
        raise VendorError("RTL: the rule keeping e-mail/phone inputs left-to-right is missing")
    if ".splide--rtl{direction:rtl}" not in rtl:
        raise VendorError("RTL: the RTL carousel's explicit direction was flipped")
    if ".text-break{" in rtl:
        raise VendorError("RTL: .text-break should have been removed")


def generate_rtl_css(ltr_css: bytes, workdir: Path) -> tuple[bytes, dict]:
    """Install rtlcss in a scratch directory and mirror the LTR stylesheet.

    Bootstrap Italia ships no RTL build; Bootstrap's own RTL CSS is made with
    rtlcss, so we use the same tool.  Returns the RTL CSS and the resolved
    rtlcss install (versions and integrity) for the manifest, because
    rtlcss's dependencies (postcss) also shape the output.
    """
    npm = require_tool("npm")
    node = require_tool("node")
    prefix = workdir / "rtlcss"
    prefix.mkdir()
    run(
        [npm, "install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund",
         "--prefix", str(prefix), f"{RTLCSS}@{RTLCSS_VERSION}"],
        cwd=prefix,
    )
    lock = json.loads((prefix / "node_modules" / ".package-lock.json").read_text("utf-8"))
    installed = {
        key.removeprefix("node_modules/"): {
            "version": meta["version"],
            "integrity": meta["integrity"],
        }
        for key, meta in lock["packages"].items()
        if key.startswith("node_modules/")
    }
    tool = installed.get(RTLCSS)
    if tool is None or tool["version"] != RTLCSS_VERSION:
        raise VendorError(f"npm installed {RTLCSS} {tool} instead of {RTLCSS_VERSION}")

    package_dir = prefix / "node_modules" / RTLCSS
    meta = json.loads((package_dir / "package.json").read_text("utf-8"))
    bin_entry = meta["bin"] if isinstance(meta["bin"], str) else meta["bin"][RTLCSS]

    source = workdir / "bootstrap-italia.for-rtl.css"
    target = workdir / "bootstrap-italia.rtl.min.css"
    source.write_text(prepare_rtl_source(ltr_css.decode("utf-8")), encoding="utf-8")
    run([node, str(package_dir / bin_entry), str(source), str(target)], cwd=workdir)
    rtl_css = target.read_bytes()
    verify_rtl(ltr_css.decode("utf-8-sig"), rtl_css.decode("utf-8-sig"))

    build_tool = {
        "name": RTLCSS,
        "version": RTLCSS_VERSION,
        "integrity": tool["integrity"],
        "resolved_dependencies": {k: v for k, v in sorted(installed.items()) if k != RTLCSS},
    }
    return rtl_css, build_tool


VIDEOJS_FONT_FACE = re.compile(r"@font-face\{font-family:VideoJS;[^}]*\}")


def strip_video_icon_font(css: bytes) -> bytes:
    """Remove the Video.js icon font that the stylesheet embeds as a ``data:`` URL.

    The portal shows no video, and our Content-Security-Policy (``font-src 'self'``)
    refuses ``data:`` fonts, so browsers would log a violation on every page. Failing
    when the rule is absent keeps a future upstream change from passing unnoticed.
    """
    text = css.decode("utf-8")
    stripped, count = VIDEOJS_FONT_FACE.subn("", text)
    if count != 1:
        raise VendorError(f"expected one VideoJS @font-face in {LTR_CSS}, found {count}")
    return stripped.encode("utf-8")


def vendor_bootstrap_italia(tarball: Path, integrity: str) -> VendoredPackage:
    """Select from bootstrap-italia's dist/ only what a page needs.

    Keeping the dist layout (css/, js/, svg/, fonts/) means every relative
    ``url()`` in the upstream CSS keeps working; skipping maps, SCSS, docs
    and legacy font formats keeps the repository lean.
    """
    base = rel(BOOTSTRAP_ITALIA_DIR)
    with tarfile.open(tarball, "r:gz") as tar:
        meta = package_json(tar)
        if meta.get("version") != BOOTSTRAP_ITALIA_VERSION:
            raise VendorError(f"{BOOTSTRAP_ITALIA} tarball says version {meta.get('version')}")
        pkg = VendoredPackage(
            BOOTSTRAP_ITALIA, BOOTSTRAP_ITALIA_VERSION, integrity, str(meta.get("license", ""))
        )
        for path in BOOTSTRAP_ITALIA_DIST_FILES:
            pkg.files[f"{base}/{path}"] = read_member(tar, "dist/" + path)
        pkg.files[f"{base}/LICENSE"] = read_member(tar, "LICENSE")

        font_prefix = TARBALL_ROOT + "dist/fonts/"
        available = {
            m.name.removeprefix(font_prefix)
            for m in tar.getmembers()
            if m.isfile() and m.name.startswith(font_prefix)
        }

        # Web fonts: the faces upstream declares, best format present for each.
        faces = parse_font_faces(read_member(tar, FONTS_LOADER).decode("utf-8"))
        chosen = [choose_font_file(face.sources, available) for face in faces]
        for path, _ in chosen:
            pkg.files[f"{base}/fonts/{path}"] = read_member(tar, "dist/fonts/" + path)
        # Font licences (OFL/Apache require them to travel with the fonts).
        font_dirs = {posixpath.dirname(path) for path, _ in chosen}
        licence = re.compile(r"(?i)(licen[cs]e|ofl)[^/]*\.txt$")
        for path in sorted(available):
            if posixpath.dirname(path) in font_dirs and licence.search(path):
                pkg.files[f"{base}/fonts/{path}"] = read_member(tar, "dist/fonts/" + path)

        # Anything the upstream CSS references relatively must be vendored too.
        ltr_css = strip_video_icon_font(pkg.files[f"{base}/{LTR_CSS}"])
        pkg.files[f"{base}/{LTR_CSS}"] = ltr_css
        pkg.generated[f"{base}/{LTR_CSS}"] = {
            "generated_by": "scripts/vendor_assets.py",
            "source": f"{BOOTSTRAP_ITALIA} {BOOTSTRAP_ITALIA_VERSION} dist/{LTR_CSS} without the VideoJS icon font",
        }
        for url in relative_css_urls(ltr_css.decode("utf-8-sig")):
            target = posixpath.normpath(posixpath.join("css", strip_query_and_fragment(url)))
            if target.startswith("../"):
                raise VendorError(f"{LTR_CSS} references {url}, outside dist/")
            pkg.files.setdefault(f"{base}/{target}", read_member(tar, "dist/" + target))

    pkg.files[f"{base}/{FONTS_CSS}"] = build_fonts_css(faces, chosen)
    pkg.generated[f"{base}/{FONTS_CSS}"] = {
        "generated_by": "scripts/vendor_assets.py",
        "source": f"{BOOTSTRAP_ITALIA} {BOOTSTRAP_ITALIA_VERSION} {FONTS_LOADER}",
    }
    return pkg


def vendor_axe_core(tarball: Path, integrity: str) -> VendoredPackage:
    """Take axe-core's minified engine and licences for the browser tests.

    The accessibility checks inject axe into pages under test; loading it
    from disk keeps the test suite offline and reproducible.
    """
    base = rel(AXE_DIR)
    with tarfile.open(tarball, "r:gz") as tar:
        meta = package_json(tar)
        if meta.get("version") != AXE_CORE_VERSION:
            raise VendorError(f"{AXE_CORE} tarball says version {meta.get('version')}")
        pkg = VendoredPackage(AXE_CORE, AXE_CORE_VERSION, integrity, str(meta.get("license", "")))
        pkg.files[f"{base}/axe.min.js"] = read_member(tar, "axe.min.js")
        pkg.files[f"{base}/axe-core.LICENSE.txt"] = read_member(tar, "LICENSE")
        # axe.min.js bundles third-party code whose notices live here.
        pkg.files[f"{base}/axe-core.LICENSE-3RD-PARTY.txt"] = read_member(
            tar, "LICENSE-3RD-PARTY.txt"
        )
    return pkg


# --- Whole-tree checks and writing ---------------------------------------------


def verify_outputs(packages: list[VendoredPackage]) -> None:
    """Check the assembled output before anything touches the tree.

    Every relative ``url()`` in every CSS file must land on a vendored file,
    and no CSS or JS may fetch from another host.
    """
    all_files = {path: data for pkg in packages for path, data in pkg.files.items()}
    for path, data in all_files.items():
        if not path.endswith((".css", ".js")):
            continue
        text = data.decode("utf-8-sig", errors="replace")
        fetches = find_absolute_fetches(text)
        if fetches:
            raise VendorError(f"{path} fetches from another host: {fetches[:3]}")
        if path.endswith(".css"):
            for url in relative_css_urls(text):
                target = posixpath.normpath(
                    posixpath.join(posixpath.dirname(path), strip_query_and_fragment(url))
                )
                if target not in all_files:
                    raise VendorError(f"{path} references {url}, which is not vendored")


def manifest_entry(pkg: VendoredPackage) -> dict:
    """Return the manifest record of one package.

    Names, versions and integrity make a re-run verifiable; the per-file
    sha256 lets ``--check`` and the tests detect any edit without network.
    """
    entry = {
        "name": pkg.name,
        "version": pkg.version,
        "integrity": pkg.integrity,
        "license": pkg.license,
        "files": {path: sha256_hex(data) for path, data in sorted(pkg.files.items())},
    }
    if pkg.generated:
        entry["generated"] = dict(sorted(pkg.generated.items()))
    return entry


def write_tree(packages: list[VendoredPackage], manifest: dict) -> None:
    """Replace the vendored files and the manifest with the verified output.

    Directories the script owns are emptied first so files dropped upstream
    do not linger; elsewhere only our own files are touched.  Each file is
    reported as new, changed or unchanged against what was on disk, so a
    re-run shows at a glance whether anything moved.
    """
    states = {}
    for pkg in packages:
        for path, data in pkg.files.items():
            current = REPO_ROOT / path
            if not current.is_file():
                states[path] = "new"
            elif current.read_bytes() == data:
                states[path] = "unchanged"
            else:
                states[path] = "changed"
    for owned in OWNED_DIRS:
        if owned.exists():
            shutil.rmtree(owned)
    for pkg in packages:
        for path, data in sorted(pkg.files.items()):
            destination = REPO_ROOT / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
            print(f"  {states[path]:9} {path} ({len(data):,} bytes)")
    MANIFEST_PATH.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    MANIFEST_PATH.write_text(text, encoding="utf-8")
    print(f"  written   {rel(MANIFEST_PATH)}")


def vendor() -> None:
    """Fetch, verify, generate and write everything; the default mode.

    All downloads and checks happen in a temporary directory first, so a
    failure leaves the committed tree exactly as it was.
    """
    previous = load_manifest()
    with tempfile.TemporaryDirectory(prefix="vendor-assets-") as tmp:
        workdir = Path(tmp)
        print(f"Fetching {BOOTSTRAP_ITALIA}@{BOOTSTRAP_ITALIA_VERSION}")
        bi_tarball, bi_integrity = npm_pack(BOOTSTRAP_ITALIA, BOOTSTRAP_ITALIA_VERSION, workdir)
        expect_recorded_integrity(
            previous, "packages", BOOTSTRAP_ITALIA, BOOTSTRAP_ITALIA_VERSION, bi_integrity
        )
        print(f"Fetching {AXE_CORE}@{AXE_CORE_VERSION}")
        axe_tarball, axe_integrity = npm_pack(AXE_CORE, AXE_CORE_VERSION, workdir)
        expect_recorded_integrity(previous, "packages", AXE_CORE, AXE_CORE_VERSION, axe_integrity)

        bootstrap_italia = vendor_bootstrap_italia(bi_tarball, bi_integrity)
        axe_core = vendor_axe_core(axe_tarball, axe_integrity)

        print(f"Generating the RTL stylesheet with {RTLCSS}@{RTLCSS_VERSION}")
        base = rel(BOOTSTRAP_ITALIA_DIR)
        ltr_css = bootstrap_italia.files[f"{base}/{LTR_CSS}"]
        rtl_css, rtlcss_tool = generate_rtl_css(ltr_css, workdir)
        expect_recorded_integrity(
            previous, "build_tools", RTLCSS, RTLCSS_VERSION, rtlcss_tool["integrity"]
        )
        bootstrap_italia.files[f"{base}/{RTL_CSS}"] = rtl_css
        bootstrap_italia.generated[f"{base}/{RTL_CSS}"] = {
            "generated_by": f"{RTLCSS} {RTLCSS_VERSION}",
            "source": f"{base}/{LTR_CSS}",
        }

    packages = [bootstrap_italia, axe_core]
    verify_outputs(packages)
    manifest = {
        "generator": "scripts/vendor_assets.py",
        "packages": {pkg.name: manifest_entry(pkg) for pkg in packages},
        "build_tools": {RTLCSS: rtlcss_tool},
    }
    print("Writing")
    write_tree(packages, manifest)


def check() -> int:
    """Verify the committed vendored files against the manifest (no network).

    Returns the process exit code: non-zero, with each problem named, if a
    listed file is missing or altered, or an owned directory holds a file
    the manifest does not list.
    """
    if not MANIFEST_PATH.exists():
        print(f"missing manifest: {rel(MANIFEST_PATH)}", file=sys.stderr)
        return 1
    manifest = load_manifest()
    problems: list[str] = []
    listed: set[str] = set()
    for entry in manifest.get("packages", {}).values():
        for path, expected in sorted(entry.get("files", {}).items()):
            listed.add(path)
            file = REPO_ROOT / path
            if not file.is_file():
                problems.append(f"missing:  {path}")
            elif sha256_hex(file.read_bytes()) != expected:
                problems.append(f"mismatch: {path} (sha256 differs from the manifest)")
    for owned in OWNED_DIRS:
        if owned.exists():
            for file in sorted(p for p in owned.rglob("*") if p.is_file()):
                if rel(file) not in listed:
                    problems.append(f"unlisted: {rel(file)}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); re-run scripts/vendor_assets.py", file=sys.stderr)
        return 1
    print(f"OK: {len(listed)} vendored files match {rel(MANIFEST_PATH)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen mode.

    A single entry point keeps the script usable both by hand and from CI.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify vendored files against the manifest without fetching anything",
    )
    args = parser.parse_args(argv)
    if args.check:
        return check()
    try:
        vendor()
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
