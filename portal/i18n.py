"""Languages: which one a page speaks, and how it is named and laid out.

Order of choice: an explicit ``?lang=xx`` (then remembered in a cookie) > the cookie >
a signed-in staff member's preference > the browser's ``Accept-Language`` > Italian.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from babel import Locale
from flask import Flask, g, request
from flask_babel import Babel, get_locale
from flask_login import current_user

from portal.config import DEFAULT_LANGUAGE, LANGUAGES, RTL_LANGUAGES

LANG_COOKIE = "porta_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600

#: Babel locale identifiers behind our short codes (Chinese is the Simplified script).
BABEL_LOCALES: dict[str, str] = {code: code for code in LANGUAGES} | {"zh": "zh_Hans"}
#: Values for ``<html lang>`` (BCP 47).
HTML_LANG: dict[str, str] = {code: code for code in LANGUAGES} | {"zh": "zh-Hans"}

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

babel = Babel()


@dataclass(frozen=True)
class Language:
    """One shipped language, named in itself for the switcher."""

    code: str
    autonym: str
    html_lang: str
    rtl: bool


def _autonym(code: str) -> str:
    name = Locale.parse(BABEL_LOCALES[code]).display_name or code
    return name[:1].upper() + name[1:]


SHIPPED: tuple[Language, ...] = tuple(
    Language(code=code, autonym=_autonym(code), html_lang=HTML_LANG[code], rtl=code in RTL_LANGUAGES)
    for code in LANGUAGES
)


def select_locale() -> str:
    """Flask-Babel's locale selector; the chosen code is remembered on ``g``."""
    explicit = request.args.get("lang")
    if explicit in LANGUAGES:
        g.lang_chosen = explicit
        return BABEL_LOCALES[explicit]
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return BABEL_LOCALES[cookie]
    if current_user and current_user.is_authenticated and current_user.preferred_locale in LANGUAGES:
        return BABEL_LOCALES[current_user.preferred_locale]
    best = request.accept_languages.best_match(LANGUAGES)
    return BABEL_LOCALES[best or DEFAULT_LANGUAGE]


def current_language() -> str:
    """The short code (``it``, ``zh``...) of the page being rendered."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def localized(texts: Mapping[str, str] | None, language: str | None = None) -> str:
    """Pick the text for ``language`` from an agency-written mapping, with fallbacks."""
    if not texts:
        return ""
    language = language or current_language()
    for code in (language, DEFAULT_LANGUAGE, "en"):
        if texts.get(code):
            return texts[code]
    return next(iter(texts.values()))


def init_app(app: Flask) -> None:
    """Wire Flask-Babel, the language cookie and the template helpers."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    babel.init_app(app, locale_selector=select_locale)

    @app.after_request
    def _remember_choice(response):  # type: ignore[no-untyped-def]
        chosen = g.get("lang_chosen")
        if chosen:
            response.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=LANG_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=app.config.get("SESSION_COOKIE_SECURE", False),
            )
        return response

    @app.context_processor
    def _language_context() -> dict[str, object]:
        code = current_language()
        return {
            "languages": SHIPPED,
            "page_language": next(lang for lang in SHIPPED if lang.code == code),
            "localized": localized,
        }
