"""Message templates: safe to show on a locked screen, short enough, in the person's language.

The texts live in ``messaging/templates.yaml`` and are rendered by ``messaging.templates``.
Every SMS is rendered here with long, realistic values, on a date of every weekday in every
month (the longest names the renderer can produce), in every shipped language.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from messaging.babel_extract import extract_yaml
from messaging.segments import GSM7, count_segments, is_gsm7
from messaging.templates import (
    KINDS,
    TEMPLATES_PATH,
    Rendered,
    Renderer,
    TemplateError,
    Templates,
    load_templates,
    placeholders,
)

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
#: Kept here rather than imported from portal.config: messaging must stand alone.
LANGUAGES = ("it", "en", "zh", "ro", "sq", "ar", "ur", "bn", "es", "uk")
CATALOG_LANGUAGES = tuple(code for code in LANGUAGES if code != "en")
TIMEZONE = "Europe/Rome"
SENDER = "Comune di Prato"

#: Long, realistic values: every SMS must fit with these.
LONG_CONTEXT: dict[str, Any] = {
    "address": "Via Ferdinando Paolieri 128",
    "reference": "PU-7K4M-9Q2D",
    "pin": "482913",
    "minutes": 30,
    "helpline": "800 123 456",
    "link": "https://porta.comune.prato.it/appuntamenti/8F3KQ2",
    "count": 12,
}
ROME = ZoneInfo(TIMEZONE)
#: 17:30 in Rome on one day of each weekday in each month, all with two-digit days: the
#: longest weekday and month names of every language are among them.
LONG_STARTS = tuple(
    datetime(2026, month, day, 17, 30, tzinfo=ROME).isoformat() for month in range(1, 13) for day in range(22, 29)
)

MAX_SEGMENTS = {"GSM-7": 1, "UCS-2": 2}

#: Words that would tell whoever glances at the phone what the person is going through,
#: or which office writes to them. Checked in every language (the Italian and English
#: ones too, so that an untranslated agency name cannot slip through).
REVEALING: dict[str, list[str]] = {
    "it": [
        r"\bcas[ae]\b", r"\balloggi", r"\babitativ", r"\bsfratt", r"\bviolen", r"\bmaltratt",
        r"\bservizi sociali", r"\bassistent[ei] social", r"\bsenza ?(tetto|dimora)", r"\bdormitori",
        r"\baffitt", r"\bmorosit", r"\baccoglienza", r"\bantiviolenza", r"\bagenzia\b",
    ],
    "en": [
        r"\bhous(e|es|ing)\b", r"\bhome(less)?\b", r"\bevict", r"\bviolen", r"\babus", r"\bshelter",
        r"\brent\b", r"\barrears\b", r"\bsocial (services|worker|care)", r"\bwelfare\b", r"\brefuge\b",
        r"\bagency\b",
    ],
    "es": [
        r"\bcasa\b", r"\bvivienda", r"\bdesahuci", r"\bdesaloj", r"\bviolencia", r"\bmaltrato",
        r"\balbergue", r"\brefugio", r"\balquiler", r"\bsin hogar", r"\bservicios sociales",
        r"\btrabajador(a)? social", r"\bagencia\b",
    ],
    "ro": [
        r"\bcas[ăae]\b", r"\blocuin", r"\bevacu", r"\bviolen", r"\babuz", r"\badăpost", r"\bchiri",
        r"\bservicii(le)? sociale", r"\basistent(ul)? social", r"\bagen[țţ]i",
    ],
    "sq": [
        r"\bshtëpi", r"\bstreh", r"\bbanes", r"\bdëbim", r"\bdhun", r"\bqira", r"\bpastreh",
        r"\bshërbim(e|et)? social", r"\bpunonjës social", r"\bagjenci",
    ],
    "uk": [
        r"\bжитл", r"\bбудин", r"\bвисел", r"\bнасильств", r"\bпритул", r"\bоренд", r"\bбезхатч",
        r"\bбездомн", r"\bсоціальн", r"\bагентств",
    ],
    # Scripts without spaces between words, or with prefixes and suffixes glued to the
    # word, are searched for as plain substrings.
    "zh": [
        "住房", "住屋", "房屋", "房子", "住所", "驱逐", "迁出", "搬离", "暴力", "家暴", "虐待",
        "庇护", "收容", "避难", "房租", "租金", "无家可归", "露宿", "社会服务", "社工", "福利", "机构",
    ],
    "ar": [
        "سكن", "إسكان", "منزل", "بيت", "إخلاء", "طرد", "عنف", "إساءة", "مأوى", "ملجأ", "إيجار",
        "متأخرات", "مشرد", "الخدمات الاجتماعية", "اجتماعي", "وكالة",
    ],
    "ur": [
        "رہائش", "مکان", "گھر", "بے دخل", "بےدخل", "تشدد", "پناہ", "کرایہ", "سماجی", "ادارہ", "ایجنسی",
    ],
    "bn": [
        "আবাসন", "বাসস্থান", "বাড়ি", "উচ্ছেদ", "সহিংসতা", "নির্যাতন", "আশ্রয়", "ভাড়া", "গৃহহীন",
        "সমাজসেবা", "সামাজিক", "সংস্থা",
    ],
}
SUBSTRING_LANGUAGES = {"zh", "ar", "ur", "bn"}
#: Names that must never reach a phone's lock screen, in any language.
NEVER_SHOWN = ("Agenzia Casa", "Agency Casa", "Porta Unica")


@pytest.fixture(scope="module")
def templates() -> Templates:
    return load_templates()


@pytest.fixture(scope="module")
def renderer(templates: Templates) -> Renderer:
    return Renderer(templates, TRANSLATIONS, TIMEZONE, SENDER)


def _context(start: str = LONG_STARTS[0], **overrides: Any) -> dict[str, Any]:
    return {**LONG_CONTEXT, "start": start, **overrides}


def _worst_sms(renderer: Renderer, kind: str, language: str) -> tuple[str, Any]:
    """The rendering of ``kind``'s SMS that comes closest to its limit, and its count."""
    worst: tuple[tuple[int, int], str, Any] | None = None
    for start in LONG_STARTS:
        body = renderer.render(kind, language, _context(start), "sms").body
        counted = count_segments(body)
        limit = MAX_SEGMENTS[counted.encoding]
        # Rank by how much of the allowed capacity is used (160 septets or 134 units).
        capacity = 160 if counted.encoding == GSM7 else 134
        key = (counted.segments - limit, counted.units * 1000 // capacity)
        if worst is None or key > worst[0]:
            worst = (key, body, counted)
    assert worst is not None
    return worst[1], worst[2]


def worst_case_table(renderer: Renderer) -> list[tuple[str, str, str, int, int]]:
    """Per language, the SMS closest to its limit: (language, kind, encoding, units, segments)."""
    rows = []
    for language in LANGUAGES:
        candidates = []
        for template in renderer.templates:
            _body, counted = _worst_sms(renderer, template.kind, language)
            capacity = 160 if counted.encoding == GSM7 else 134
            candidates.append((counted.units / capacity, template.kind, counted))
        _ratio, kind, counted = max(candidates, key=lambda item: item[0])
        rows.append((language, kind, counted.encoding, counted.units, counted.segments))
    return rows


def _revealing_hits(text: str, language: str) -> list[str]:
    hits = [name for name in NEVER_SHOWN if name.lower() in text.lower()]
    for code in {language, "it", "en"}:
        for pattern in REVEALING[code]:
            if code in SUBSTRING_LANGUAGES:
                if pattern in text:
                    hits.append(pattern)
            elif re.search(pattern, text, flags=re.IGNORECASE):
                hits.append(pattern)
    return hits


# --- length ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sms_fits_one_gsm7_or_two_ucs2_segments_with_long_values(renderer: Renderer, language: str) -> None:
    """With the longest weekday and month names and long real values, an SMS costs at
    most one GSM-7 segment, or two UCS-2 segments when the language needs UCS-2."""
    too_long = []
    for template in renderer.templates:
        body, counted = _worst_sms(renderer, template.kind, language)
        if counted.segments > MAX_SEGMENTS[counted.encoding]:
            too_long.append((template.kind, counted.encoding, counted.units, counted.segments, body))
    assert too_long == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_abbreviated_date_never_doubles_the_full_stop(renderer: Renderer, language: str) -> None:
    """Romanian "oct." or Ukrainian "жовт." must not end a sentence as "oct.."."""
    doubled = re.compile(r"(?<!\.)\.\.(?!\.)|\s[.,]")
    found = set()
    for start in LONG_STARTS:
        for template in renderer.templates:
            email = renderer.render(template.kind, language, _context(start), "email")
            sms = renderer.render(template.kind, language, _context(start), "sms")
            for text in (sms.body, email.subject or "", email.body):
                match = doubled.search(text)
                if match:
                    found.add((template.kind, text[max(0, match.start() - 20) : match.end() + 5]))
    assert found == set()


@pytest.mark.parametrize("language", ["it", "en"])
def test_italian_and_english_sms_stay_in_gsm7(renderer: Renderer, language: str) -> None:
    """Texts in Latin languages covered by GSM-7 never fall back to the dearer UCS-2."""
    for template in renderer.templates:
        for start in LONG_STARTS[::7]:
            body = renderer.render(template.kind, language, _context(start), "sms").body
            assert is_gsm7(body), (template.kind, body)


# --- nothing revealing -------------------------------------------------------------------------


def _lock_screen_texts(renderer: Renderer, kind: str, language: str) -> list[str]:
    """What can show on a locked phone: SMS, WhatsApp text and variables, e-mail subject."""
    context = _context()
    whatsapp = renderer.render(kind, language, context, "whatsapp")
    return [
        renderer.render(kind, language, context, "sms").body,
        whatsapp.body,
        *(whatsapp.content_variables or {}).values(),
        renderer.render(kind, language, context, "email").subject or "",
    ]


def test_revealing_word_lists_catch_what_they_are_for() -> None:
    """The lists would flag a careless text (so the next test is not vacuously green)."""
    assert _revealing_hits("Agenzia Casa: il tuo sfratto", "it")
    assert _revealing_hits("Your housing appointment", "en")
    assert _revealing_hits("Consulta de vivienda", "es")
    assert _revealing_hits("您的住房预约", "zh")
    assert _revealing_hits("موعد السكن", "ar")
    assert _revealing_hits("Запис щодо житла", "uk")
    assert not _revealing_hits("Comune di Prato: nuovi elementi nella tua casella.", "it")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_sms_whatsapp_variable_or_subject_reveals_the_persons_situation(renderer: Renderer, language: str) -> None:
    """Nothing on a lock screen names housing, eviction, violence, social services or the agency."""
    found = []
    for template in renderer.templates:
        for text in _lock_screen_texts(renderer, template.kind, language):
            hits = _revealing_hits(text, language)
            if hits:
                found.append((template.kind, hits, text))
    assert found == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_agency_name_appears_in_no_message_at_all(renderer: Renderer, language: str) -> None:
    """Not even e-mail bodies say "Agenzia Casa": the sender is the neutral name from configuration."""
    for template in renderer.templates:
        email = renderer.render(template.kind, language, _context(), "email")
        for text in (email.subject or "", email.body):
            assert "agenzia casa" not in text.lower() and "agency casa" not in text.lower()


@pytest.mark.parametrize("language", LANGUAGES)
def test_subjects_carry_no_reference_code_or_pin_and_sms_no_link(renderer: Renderer, language: str) -> None:
    """A subject shows in notifications: no reference or code. Links are for e-mail only."""
    for template in renderer.templates:
        subject = renderer.render(template.kind, language, _context(), "email").subject or ""
        assert LONG_CONTEXT["reference"] not in subject and LONG_CONTEXT["pin"] not in subject
        sms = renderer.render(template.kind, language, _context(), "sms").body
        assert LONG_CONTEXT["link"] not in sms and "http" not in sms


# --- sender and STOP ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sms_starts_with_the_sender_and_says_stop(renderer: Renderer, language: str) -> None:
    """The person knows who writes, and every text keeps the Latin keyword STOP."""
    for template in renderer.templates:
        for channel in ("sms", "whatsapp"):
            body = renderer.render(template.kind, language, _context(), channel).body
            assert body.startswith(SENDER), (template.kind, body)
            assert "STOP" in body, (template.kind, body)


@pytest.mark.parametrize("language", LANGUAGES)
def test_appointment_and_offer_texts_ask_for_digit_replies(renderer: Renderer, language: str) -> None:
    """Confirmation and reminder offer 1 and 2; the offer asks for 1 within its minutes."""
    for kind in ("appointment_confirmation", "appointment_reminder"):
        body = renderer.render(kind, language, _context(), "sms").body
        assert re.search(r"(?<!\d)1(?!\d)", body) and re.search(r"(?<!\d)2(?!\d)", body), body
    offer = renderer.render("waiting_list_offer", language, _context(), "sms").body
    assert re.search(r"(?<!\d)1(?!\d)", offer) and "30" in offer, offer


# --- language, dates and times -------------------------------------------------------------------


def test_a_message_is_rendered_in_the_recipients_language(renderer: Renderer) -> None:
    """The same booking reads in Italian, English or Chinese, with each language's date."""
    context = _context("2026-10-24T10:30:00+00:00")
    italian = renderer.render("appointment_reminder", "it", context, "sms").body
    english = renderer.render("appointment_reminder", "en", context, "sms").body
    chinese = renderer.render("appointment_reminder", "zh", context, "sms").body
    assert "sab 24 ott" in italian and "Rispondi" in italian
    assert "Sat, Oct 24" in english and "Reply" in english
    assert "10月24日周六" in chinese and "回复" in chinese


def test_dates_and_times_are_in_rome_time_on_both_sides_of_the_clock_change(renderer: Renderer) -> None:
    """10:30 UTC is 12:30 in Rome before 25 October 2026 (summer time) and 11:30 after."""
    before = renderer.render("appointment_confirmation", "it", _context("2026-10-24T10:30:00+00:00"), "sms").body
    after = renderer.render("appointment_confirmation", "it", _context("2026-10-26T10:30:00+00:00"), "sms").body
    assert "sab 24 ott alle 12:30" in before
    assert "lun 26 ott alle 11:30" in after
    english = renderer.render("appointment_confirmation", "en", _context("2026-10-26T10:30:00+00:00"), "email")
    assert "Mon, Oct 26 at 11:30" in (english.subject or "")


def test_a_start_given_in_another_offset_is_shown_in_the_agency_time_zone(renderer: Renderer) -> None:
    """The offset of the stored instant does not matter, only the agency's zone does."""
    body = renderer.render("appointment_reminder", "en", _context("2026-03-02T08:00:00-05:00"), "sms").body
    assert "Mon, Mar 2 at 14:00" in body


def test_an_unknown_language_falls_back_to_italian_and_tags_are_understood(renderer: Renderer) -> None:
    """A code without a catalog gets Italian; "zh-Hans" or "ar_EG" find their catalogs."""
    italian = renderer.render("one_time_pin", "it", _context(), "sms").body
    assert renderer.render("one_time_pin", "xx", _context(), "sms").body == italian
    assert renderer.render("one_time_pin", "", _context(), "sms").body == italian
    assert renderer.render("one_time_pin", "../it", _context(), "sms").body == italian
    assert renderer.render("one_time_pin", "zh-Hans", _context(), "sms").body == renderer.render(
        "one_time_pin", "zh", _context(), "sms"
    ).body
    assert "رمزك" in renderer.render("one_time_pin", "ar_EG", _context(), "sms").body


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["start", "address", "helpline", "link"])
def test_a_missing_context_field_raises_instead_of_sending_a_hole(renderer: Renderer, missing: str) -> None:
    """Every channel refuses, even those whose text would not use the field."""
    context = _context()
    del context[missing]
    for channel in ("sms", "email", "whatsapp", "webhook"):
        with pytest.raises(TemplateError, match=r"appointment_confirmation.*{}".format(missing)):
            renderer.render("appointment_confirmation", "it", context, channel)


@pytest.mark.parametrize("start", ["2026-10-24T10:30:00", "24/10/2026 10:30", ""])
def test_a_start_without_offset_or_unreadable_is_refused(renderer: Renderer, start: str) -> None:
    """A naive time could be off by an hour or two; refuse it rather than guess."""
    with pytest.raises(TemplateError, match="appointment_reminder"):
        renderer.render("appointment_reminder", "it", _context(start), "sms")


def test_an_unknown_kind_or_channel_is_refused(renderer: Renderer) -> None:
    """A typo in a kind or channel name is an error, not an empty or default text."""
    with pytest.raises(TemplateError, match="no_such_kind"):
        renderer.render("no_such_kind", "it", _context(), "sms")
    with pytest.raises(TemplateError, match="fax"):
        renderer.render("one_time_pin", "it", _context(), "fax")


def _broken(tmp_path: Path, change: Any) -> Path:
    data = yaml.safe_load(TEMPLATES_PATH.read_text(encoding="utf-8"))
    change(data["kinds"])
    path = tmp_path / "templates.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda kinds: kinds["waiting_list_offer"].pop("email_body"), r"'waiting_list_offer'.*missing email_body"),
        (lambda kinds: kinds["appointment_reminder"].pop("fields"), r"'appointment_reminder'.*missing fields"),
        (
            lambda kinds: kinds["appointment_reminder"].update(sms="{sender}: {adress} STOP"),
            r"'appointment_reminder'.*sms.*\{adress\}",
        ),
        (
            lambda kinds: kinds["intake_receipt"].update(email_subject="Request {reference}{pin}"),
            r"'intake_receipt'.*email_subject.*\{pin\}",
        ),
        (
            lambda kinds: kinds["one_time_pin"].update(whatsapp_variables=["pin", "address"]),
            r"'one_time_pin'.*whatsapp_variables address",
        ),
        (
            lambda kinds: kinds["no_show_followup"].update(sms="{sender}: book at {link}. STOP"),
            r"'no_show_followup'.*e-mail-only.*link",
        ),
        (
            lambda kinds: kinds["staff_notification"].update(sms="New items. STOP"),
            r"'staff_notification'.*start with",
        ),
        (
            lambda kinds: kinds["staff_notification"].update(fields=["count", "link", "colour"]),
            r"'staff_notification'.*unknown field.*colour",
        ),
        (
            lambda kinds: kinds["one_time_pin"].update(sms="{sender}: {pin:>8} {} STOP"),
            r"'one_time_pin'.*sms",
        ),
        (lambda kinds: kinds["one_time_pin"].update(email_bdy="x"), r"'one_time_pin'.*unknown part.*email_bdy"),
        (lambda kinds: kinds.pop("appointment_cancelled"), r"'appointment_cancelled' missing"),
    ],
)
def test_a_broken_template_file_is_refused_at_load_naming_the_kind(tmp_path: Path, change: Any, message: str) -> None:
    """Start-up fails with the kind and the problem, not a send later on."""
    with pytest.raises(TemplateError, match=message):
        load_templates(_broken(tmp_path, change))


def test_unreadable_template_files_are_refused(tmp_path: Path) -> None:
    """Invalid YAML, a missing file or a file without kinds stop the start-up."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("kinds: [unclosed", encoding="utf-8")
    with pytest.raises(TemplateError):
        load_templates(bad)
    with pytest.raises(TemplateError):
        load_templates(tmp_path / "absent.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}", encoding="utf-8")
    with pytest.raises(TemplateError, match="kinds"):
        load_templates(empty)


def _catalog_dir(tmp_path: Path, translations: dict[str, str]) -> Path:
    directory = tmp_path / "translations"
    (directory / "it" / "LC_MESSAGES").mkdir(parents=True)
    catalog = Catalog(locale="it")
    for msgid, msgstr in translations.items():
        catalog.add(msgid, msgstr)
    with (directory / "it" / "LC_MESSAGES" / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    return directory


def test_a_translation_with_a_wrong_placeholder_raises_naming_kind_and_language(
    templates: Templates, tmp_path: Path
) -> None:
    """A catalog that slipped past the checks still never sends a garbled text."""
    sms = templates["one_time_pin"].sms
    renderer = Renderer(templates, _catalog_dir(tmp_path, {sms: "{sender}: {codice} STOP"}), TIMEZONE, SENDER)
    with pytest.raises(TemplateError, match=r"'one_time_pin'.*it translation of sms"):
        renderer.render("one_time_pin", "it", _context(), "sms")


def test_a_catalog_never_compiled_is_an_error_not_english(templates: Templates, tmp_path: Path) -> None:
    """An uncompiled Italian catalog must not turn every message into English."""
    (tmp_path / "it" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "it" / "LC_MESSAGES" / "messages.po").write_text("", encoding="utf-8")
    renderer = Renderer(templates, tmp_path, TIMEZONE, SENDER)
    with pytest.raises(TemplateError, match="make translations"):
        renderer.render("one_time_pin", "it", _context(), "sms")


def test_the_message_is_translated_before_it_is_filled_in(templates: Templates, tmp_path: Path) -> None:
    """The catalog is looked up with the msgid, never with an already formatted text."""
    sms = templates["one_time_pin"].sms
    renderer = Renderer(
        templates, _catalog_dir(tmp_path, {sms: "{sender}: codice {pin} per {minutes} min. STOP"}), TIMEZONE, SENDER
    )
    assert renderer.render("one_time_pin", "it", _context(), "sms").body == (
        "Comune di Prato: codice 482913 per 30 min. STOP"
    )


# --- channels ----------------------------------------------------------------------------------


def test_whatsapp_content_variables_come_in_order_as_strings(renderer: Renderer) -> None:
    """ContentVariables "1", "2"... follow the template's order, all strings, formatted as in the text."""
    rendered = renderer.render("waiting_list_offer", "it", _context("2026-10-24T10:30:00+00:00"), "whatsapp")
    assert rendered.content_variables == {
        "1": "sab 24 ott",
        "2": "12:30",
        "3": "Via Ferdinando Paolieri 128",
        "4": "30",
    }
    assert list(rendered.content_variables) == ["1", "2", "3", "4"]
    pin = renderer.render("one_time_pin", "en", _context(pin="004213", minutes=10), "whatsapp")
    assert pin.content_variables == {"1": "004213", "2": "10"}
    assert renderer.render("staff_notification", "it", _context(), "whatsapp").content_variables == {}
    for channel in ("sms", "email", "webhook", "console"):
        assert renderer.render("one_time_pin", "it", _context(), channel).content_variables is None


def test_italian_sms_is_normalised_to_gsm7_and_loses_typographic_apostrophes(renderer: Renderer) -> None:
    """The catalog writes "l’appuntamento"; the SMS carries a plain apostrophe and stays GSM-7."""
    italian = renderer.translations("it").gettext(renderer.templates["appointment_cancelled"].sms)
    assert "\u2019" in italian, "the test needs a typographic apostrophe in the Italian text"
    sms = renderer.render("appointment_cancelled", "it", _context(), "sms").body
    assert "\u2019" not in sms and "l'appuntamento" in sms
    assert count_segments(sms).encoding == GSM7
    assert renderer.render("appointment_cancelled", "it", _context(), "console").body == sms
    # WhatsApp is not billed by segments: it keeps the typography.
    assert "\u2019" in renderer.render("appointment_cancelled", "it", _context(), "whatsapp").body


def test_an_email_has_a_subject_and_a_plain_body_with_the_link(renderer: Renderer) -> None:
    """E-mail gets a one-line subject and a plain-text body carrying the link and helpline."""
    rendered = renderer.render("appointment_confirmation", "es", _context("2026-10-24T10:30:00+00:00"), "email")
    assert rendered.subject == "Su cita del sáb, 24 oct a las 12:30"
    assert LONG_CONTEXT["link"] in rendered.body and LONG_CONTEXT["helpline"] in rendered.body
    assert rendered.body.rstrip().endswith(SENDER)
    assert rendered.html is None and "\n" not in rendered.subject


def test_a_webhook_gets_kind_language_and_context_as_json(renderer: Renderer) -> None:
    """Partner systems receive data, not prose: kind, language and the context as given."""
    context = _context()
    rendered = renderer.render("intake_receipt", "ur", context, "webhook")
    assert json.loads(rendered.body) == {"kind": "intake_receipt", "language": "ur", "context": context}
    assert rendered.subject is None and rendered.content_variables is None


def test_rendered_is_an_immutable_value(renderer: Renderer) -> None:
    """A rendered message cannot be altered on its way to the channel."""
    rendered = renderer.render("one_time_pin", "it", _context(), "sms")
    assert isinstance(rendered, Rendered)
    with pytest.raises(AttributeError):
        rendered.body = "changed"  # type: ignore[misc]


# --- threads and independence ------------------------------------------------------------------


def test_rendering_in_many_threads_at_once_gives_each_its_own_language(templates: Templates) -> None:
    """Worker threads share one renderer; no language leaks from one message into another."""
    renderer = Renderer(templates, TRANSLATIONS, TIMEZONE, SENDER)
    expected = {
        language: Renderer(templates, TRANSLATIONS, TIMEZONE, SENDER)
        .render("appointment_reminder", language, _context(), "sms")
        .body
        for language in LANGUAGES
    }
    results: dict[tuple[int, str], str] = {}
    barrier = threading.Barrier(len(LANGUAGES) * 2)

    def work(index: int, language: str) -> None:
        barrier.wait()
        for _ in range(20):
            results[(index, language)] = renderer.render("appointment_reminder", language, _context(), "sms").body

    threads = [
        threading.Thread(target=work, args=(index, language)) for index in range(2) for language in LANGUAGES
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {language: body for (_index, language), body in results.items()} == expected


def test_the_renderer_needs_neither_flask_nor_the_portal() -> None:
    """messaging is a library: importing and rendering pulls in no Flask and no portal."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from messaging.templates import Renderer, load_templates\n"
        "r = Renderer(load_templates(), Path('translations'), 'Europe/Rome', 'Comune di Prato')\n"
        "r.render('one_time_pin', 'uk', {'pin': '123456', 'minutes': 10}, 'sms')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_babel', 'portal'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --- extraction and catalogs -------------------------------------------------------------------


def _template_texts(templates: Templates) -> set[str]:
    return {template.text(part) for template in templates for part in ("sms", "email_subject", "email_body")}


def test_the_yaml_extractor_yields_strings_under_the_listed_keys_with_line_numbers() -> None:
    """Only values under the listed keys (strings, or lists of strings) become msgids."""
    source = (
        "kinds:\n"
        "  one:\n"
        "    fields: [a, b]\n"
        "    sms: \"Hello {a}\"\n"
        "    email_body: |-\n"
        "      Two\n"
        "      lines\n"
        "    other: not this\n"
        "questions:\n"
        "  - label: Where do you sleep?\n"
        "    options: [Here, There]\n"
        "    id: sleep\n"
        "    sms: 42\n"
    ).encode("utf-8")
    found = list(extract_yaml(BytesIO(source), [], [], {"keys": "sms, email_body, label ,options"}))
    assert found == [
        (4, None, "Hello {a}", []),
        (5, None, "Two\nlines", []),
        (10, None, "Where do you sleep?", []),
        (11, None, "Here", []),
        (11, None, "There", []),
    ]
    assert list(extract_yaml(BytesIO(source), [], [], {})) == []


def test_babel_cfg_and_the_entry_point_extract_every_template_text(templates: Templates) -> None:
    """pybabel extract (through babel.cfg and the porta_yaml entry point) sees every text."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    assert ("messaging/templates.yaml", "porta_yaml") in method_map
    found = {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=[("messaging/templates.yaml", "porta_yaml")], options_map=options_map
        )
    }
    assert found == _template_texts(templates)


def test_the_pot_file_holds_every_template_text(templates: Templates) -> None:
    """Someone changed a text without running `make translations-update` if this fails."""
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        pot = {message.id for message in read_po(handle) if message.id}
    assert _template_texts(templates) - pot == set()


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_every_template_text_is_really_translated_with_its_placeholders(templates: Templates, language: str) -> None:
    """No template text is missing, fuzzy, copied from English or missing a placeholder."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language if language != "zh" else "zh_Hans")
    problems = []
    for text in sorted(_template_texts(templates)):
        message = catalog.get(text)
        if message is None or not message.string or message.fuzzy or message.string == text:
            problems.append(("untranslated", text))
        elif sorted(placeholders(message.string)) != sorted(placeholders(text)):
            problems.append(("placeholders", message.string))
    assert problems == []


def test_the_templates_cover_every_kind_the_portal_sends(templates: Templates) -> None:
    """All nine kinds exist; WhatsApp variables come from the fields; no link in an SMS."""
    assert set(KINDS) <= set(templates.kinds)
    for template in templates:
        assert set(template.whatsapp_variables) <= set(template.fields) | {"sender"}
        assert "link" not in placeholders(template.sms)
