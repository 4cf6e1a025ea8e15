"""Every page speaks the visitor's language, named in itself, laid out in its direction."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from portal.config import LANGUAGES

from support import sign_in

HTML_LANG = {"it": "it", "en": "en", "zh": "zh-Hans", "ro": "ro", "sq": "sq", "ar": "ar", "ur": "ur", "bn": "bn", "es": "es", "uk": "uk"}
#: The home page's main title in each language, as the catalogs translate it.
AUTONYMS = {"it": "Italiano", "en": "English", "zh": "中文", "ar": "العربية", "ur": "اردو", "bn": "বাংলা", "uk": "Українська"}


def _html_tag(client: FlaskClient, url: str, **kwargs) -> str:  # type: ignore[no-untyped-def]
    page = client.get(url, **kwargs).get_data(as_text=True)
    match = re.search(r"<html[^>]*>", page)
    assert match
    return match.group(0)


@pytest.mark.parametrize("code", LANGUAGES)
def test_home_page_is_served_in_each_shipped_language_with_the_right_lang_and_direction(
    client: FlaskClient, code: str
) -> None:
    """``?lang=xx`` gives the page in that language; Arabic and Urdu right-to-left."""
    response = client.get("/?lang={}".format(code))
    assert response.status_code == 200
    tag = re.search(r"<html[^>]*>", response.get_data(as_text=True)).group(0)  # type: ignore[union-attr]
    assert 'lang="{}"'.format(HTML_LANG[code]) in tag
    assert 'dir="{}"'.format("rtl" if code in ("ar", "ur") else "ltr") in tag


def test_each_language_of_the_home_page_reads_differently(client: FlaskClient) -> None:
    """The main heading really changes with the language (catalogs are compiled and loaded)."""
    headings = {}
    for code in LANGUAGES:
        page = client.get("/?lang={}".format(code)).get_data(as_text=True)
        headings[code] = re.search(r'<h1 id="page-title"[^>]*>(.*?)</h1>', page).group(1)  # type: ignore[union-attr]
    assert headings["en"] == "Housing help: one front door"
    assert len(set(headings.values())) == len(LANGUAGES)


def test_the_switcher_names_every_language_in_itself(client: FlaskClient) -> None:
    """A person who reads only Bengali can still find Bengali in the list."""
    page = client.get("/?lang=it").get_data(as_text=True)
    for code, autonym in AUTONYMS.items():
        assert 'hreflang="{}"'.format(HTML_LANG[code]) in page
        assert autonym in page


def test_an_explicit_choice_is_remembered_in_a_cookie(client: FlaskClient) -> None:
    """After ``?lang=ar`` the next page without a parameter is still Arabic."""
    client.get("/?lang=ar")
    assert 'lang="ar"' in _html_tag(client, "/privacy")


def test_an_explicit_choice_beats_the_browsers_preference(client: FlaskClient) -> None:
    """The switcher wins over Accept-Language; Accept-Language wins over the default."""
    headers = {"Accept-Language": "ro-RO,ro;q=0.9,en;q=0.5"}
    assert 'lang="ro"' in _html_tag(client, "/", headers=headers)
    client.get("/?lang=uk", headers=headers)
    assert 'lang="uk"' in _html_tag(client, "/", headers=headers)


def test_without_any_preference_the_page_is_italian(client: FlaskClient) -> None:
    """Italian is the default locale."""
    assert 'lang="it"' in _html_tag(client, "/", headers={"Accept-Language": "ja,ko;q=0.8"})


def test_a_signed_in_staff_members_preference_beats_the_browser(client: FlaskClient, create_staff) -> None:  # type: ignore[no-untyped-def]
    """An operator who chose Chinese gets the console in Chinese on any computer."""
    create_staff(email="zh.operator@example.org", preferred_locale="zh")
    sign_in(client, "zh.operator@example.org")
    assert 'lang="zh-Hans"' in _html_tag(client, "/staff/", headers={"Accept-Language": "it"})


def test_an_unknown_language_code_is_ignored(client: FlaskClient) -> None:
    """``?lang=xx`` for a language we do not ship falls back instead of failing."""
    response = client.get("/?lang=klingon", headers={"Accept-Language": "es"})
    assert response.status_code == 200
    assert 'lang="es"' in _html_tag(client, "/?lang=klingon", headers={"Accept-Language": "es"})


def test_opening_hours_are_written_in_the_pages_language(client: FlaskClient, session) -> None:  # type: ignore[no-untyped-def]
    """Days and times come from Babel in the reader's locale, not from English strings."""
    from portal.demo.services import seed

    seed(session)
    session.commit()
    assert "Lunedì" in client.get("/?lang=it").get_data(as_text=True)
    assert "Monday" in client.get("/?lang=en").get_data(as_text=True)
    assert "星期一" in client.get("/?lang=zh").get_data(as_text=True)
    assert "Понеділок" in client.get("/?lang=uk").get_data(as_text=True)


def test_money_and_numbers_are_written_the_readers_way(app) -> None:  # type: ignore[no-untyped-def]
    """Euro amounts follow the page's locale: 1.234,50 € in Italian, €1,234.50 in English."""
    from flask import render_template_string

    template = "{{ format_money(1234.5) }}|{{ format_decimal(16500) }}"
    with app.test_request_context("/?lang=it"):
        assert render_template_string(template) == "1.234,50\xa0€|16.500"
    with app.test_request_context("/?lang=en"):
        assert render_template_string(template) == "€1,234.50|16,500"
