"""The shipped catalogs are complete, unfuzzy, faithful to placeholders, and really translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from portal.config import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
CATALOG_LANGUAGES = [code for code in LANGUAGES if code != "en"]  # English is the msgids
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")
#: Words that are the same in a language on purpose (brand names, universal terms).
SAME_AS_ENGLISH = {"Porta Unica", "E-mail", "WhatsApp", "SMS", "No", "PIN", "Error"}


def _source_msgids() -> set[str]:
    """Every msgid the code and templates use, extracted afresh (no stale .pot trusted)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # the same map `make` extracts with
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, options_map=options_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog(code: str):  # type: ignore[no-untyped-def]
    with (ROOT / "translations" / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code if code != "zh" else "zh_Hans")


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text))


@pytest.fixture(scope="module")
def source_msgids() -> set[str]:
    ids = _source_msgids()
    assert len(ids) > 50, "extraction found suspiciously few strings"
    return ids


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_catalog_has_every_string_the_code_uses(code: str, source_msgids: set[str]) -> None:
    """A string added to a template without translating it fails here, naming it."""
    catalog = _catalog(code)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string}
    missing = sorted(source_msgids - translated)
    assert missing == [], "untranslated in {}: {}".format(code, missing[:10])


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_catalog_has_no_fuzzy_or_empty_entries(code: str) -> None:
    """Fuzzy entries are guesses that gettext would silently ignore."""
    catalog = _catalog(code)
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    empty = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    assert fuzzy == [] and empty == [], "fuzzy: {} empty: {}".format(fuzzy[:5], empty[:5])


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_translations_keep_exactly_the_placeholders_of_their_msgid(code: str) -> None:
    """A renamed or dropped placeholder would crash or garble the page at run time."""
    wrong = []
    for message in _catalog(code):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = _placeholders(ids[-1])
        for string in strings:
            if _placeholders(string) != expected:
                wrong.append((ids[0], string))
    assert wrong == []


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_translations_are_not_copies_of_the_english(code: str) -> None:
    """A copied msgid is an untranslated string wearing a disguise."""
    copies = [
        m.id
        for m in _catalog(code)
        if m.id and isinstance(m.id, str) and m.string == m.id and m.id not in SAME_AS_ENGLISH
    ]
    assert copies == []
