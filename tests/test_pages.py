"""Public pages: health, errors without stack traces, and nothing loaded from other hosts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.config import LANGUAGES

PUBLIC_PAGES = ["/", "/privacy", "/accessibility", "/staff/login"]


class _Loads(HTMLParser):
    """Collects every URL a browser would fetch by itself while showing the page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "img", "iframe", "audio", "video", "source", "embed") and values.get("src"):
            self.urls.append(values["src"] or "")
        if tag == "link" and values.get("href"):
            self.urls.append(values["href"] or "")
        if tag in ("use", "image") and values.get("href"):
            self.urls.append(values["href"] or "")


def test_health_check_answers_200_when_the_database_answers(client: FlaskClient) -> None:
    """Load balancers and the IT office get JSON."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_health_check_answers_503_when_the_database_does_not(make_app, backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A database that cannot be reached makes the instance unhealthy, without a trace."""
    unreachable = (
        "sqlite:///{}".format(tmp_path / "missing-dir" / "x.sqlite3")
        if backend == "sqlite"
        else "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    )
    response = make_app(unreachable).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


@pytest.mark.parametrize("code", ["it", "ar", "zh"])
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_no_page_loads_anything_from_another_host(client: FlaskClient, path: str, code: str) -> None:
    """Stylesheets, scripts, icons and fonts all come from our own static files."""
    page = client.get("{}?lang={}".format(path, code)).get_data(as_text=True)
    parser = _Loads()
    parser.feed(page)
    assert parser.urls, "expected the page to load its stylesheets"
    foreign = [url for url in parser.urls if re.match(r"^(https?:)?//", url)]
    assert foreign == []


def test_every_response_forbids_loading_from_other_hosts(client: FlaskClient) -> None:
    """The Content-Security-Policy makes the browser refuse anything not from us."""
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "http" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_link_the_privacy_notice_and_accessibility_statement(client: FlaskClient) -> None:
    """The footer carries the links the Designers Italia model names."""
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/privacy"[^>]*data-element="privacy-policy-link"', page)
    assert re.search(r'href="/accessibility"[^>]*data-element="accessibility-link"', page)
    assert 'href="#main-container"' in page


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_missing_page_gets_a_translated_404_in_the_sites_layout(client: FlaskClient, code: str) -> None:
    """Not Werkzeug's English default."""
    response = client.get("/no-such-page?lang={}".format(code))
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "it-footer" in page
    if code != "en":
        assert "Page not found" not in page


def test_an_unexpected_error_shows_a_kind_page_and_never_a_stack_trace(app: Flask) -> None:
    """Whatever breaks, the citizen sees the helpline number, not Python."""
    from portal.auth.access import public

    @app.route("/explode")
    @public
    def explode():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals: codice fiscale RSSMRA80A01H501U")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/explode?lang=en")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Traceback" not in page and "secret internals" not in page and "RSSMRA" not in page
    assert "800 123 456" in page
