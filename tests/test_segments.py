"""SMS segment counting and GSM-7 normalisation (messaging.segments)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from messaging.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SegmentCount,
    count_segments,
    is_gsm7,
    normalise_for_gsm,
    prepare_sms,
)

ROOT = Path(__file__).resolve().parent.parent


def test_the_tables_are_the_3gpp_default_alphabet_and_its_extension() -> None:
    """127 basic characters (128 codes less ESC) and 10 two-septet ones, disjoint."""
    assert len(GSM7_BASIC) == 127
    assert GSM7_EXTENSION == set("\f^{}\\[~]|\u20ac")
    assert not GSM7_BASIC & GSM7_EXTENSION
    listed = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n\r "
    assert set(listed) <= GSM7_BASIC
    assert {chr(c) for c in range(ord("0"), ord("9") + 1)} <= GSM7_BASIC
    assert {chr(c) for c in range(ord("A"), ord("Z") + 1)} <= GSM7_BASIC
    assert {chr(c) for c in range(ord("a"), ord("z") + 1)} <= GSM7_BASIC
    greek = {0x0393, 0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9}
    assert {ord(c) for c in GSM7_BASIC if ord(c) > 0xFF} == greek


@pytest.mark.parametrize("char", ["È", "À", "Ì", "Ò", "Ù", "’", "ç", "`", "\t", "\u2206", "\u2126"])
def test_characters_outside_gsm7_are_not_accepted(char: str) -> None:
    """Capital grave vowels, typographic apostrophe, ç, tab and Greek look-alikes are not GSM-7."""
    assert not is_gsm7(char)


@pytest.mark.parametrize(
    ("length", "units", "segments", "per_segment"),
    [(1, 1, 1, 160), (160, 160, 1, 160), (161, 161, 2, 153), (306, 306, 2, 153), (307, 307, 3, 153)],
)
def test_plain_gsm7_text_uses_160_then_153_septets_per_segment(
    length: int, units: int, segments: int, per_segment: int
) -> None:
    """One segment holds 160 septets; concatenated ones hold 153 each."""
    assert count_segments("a" * length) == SegmentCount("GSM-7", units, segments, per_segment)


def test_empty_text_counts_as_one_gsm7_segment() -> None:
    """Providers never bill zero messages, so an empty body is one segment."""
    assert count_segments("") == SegmentCount("GSM-7", 0, 1, 160)


@pytest.mark.parametrize("text", ["Perché la città è più bella", "àèéìòù", "Però così è già fatto"])
def test_italian_lower_case_accented_vowels_stay_gsm7_in_one_segment(text: str) -> None:
    """à è é ì ò ù are in the default alphabet: no switch to UCS-2."""
    assert is_gsm7(text)
    assert count_segments(text) == SegmentCount("GSM-7", len(text), 1, 160)


@pytest.mark.parametrize("culprit", ["È", "’"])
@pytest.mark.parametrize(
    ("length", "segments", "per_segment"), [(70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67)]
)
def test_one_capital_e_grave_or_typographic_apostrophe_switches_to_ucs2(
    culprit: str, length: int, segments: int, per_segment: int
) -> None:
    """A single non-GSM character drops capacity to 70, then 67 per concatenated segment."""
    text = culprit + "a" * (length - 1)
    assert count_segments(text) == SegmentCount("UCS-2", length, segments, per_segment)


def test_prepare_sms_rewrites_italian_capital_accent_and_apostrophe_to_gsm7() -> None:
    """'È confermato l’appuntamento' becomes the GSM-7 spelling an Italian would type."""
    text = "Gentile utente, È confermato l’appuntamento di martedì alle 10:30."
    prepared = prepare_sms(text)
    assert prepared == "Gentile utente, E' confermato l'appuntamento di martedì alle 10:30."
    assert count_segments(text).encoding == "UCS-2"
    assert count_segments(prepared) == SegmentCount("GSM-7", len(prepared), 1, 160)


@pytest.mark.parametrize(
    ("count", "units", "segments"), [(1, 2, 1), (80, 160, 1), (81, 162, 2)]
)
def test_extension_characters_cost_two_septets(count: int, units: int, segments: int) -> None:
    """€ is ESC + code: 80 of them fill one segment, 81 need two."""
    result = count_segments("€" * count)
    assert (result.encoding, result.units, result.segments) == ("GSM-7", units, segments)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 151 + "€" + "a" * 153, 2),  # € occupies septets 152-153: fits exactly
        ("a" * 152 + "€" + "a" * 152, 3),  # € would straddle 153/154: moves to part 2
        ("a" * 152 + "[" + "a" * 152, 3),
    ],
)
def test_an_extension_character_is_never_split_across_segments(text: str, segments: int) -> None:
    """Both texts are 306 septets (naively 2 × 153), but an escape pair at the
    boundary leaves septet 153 empty and pushes one septet into a third part."""
    result = count_segments(text)
    assert result.units == 306
    assert result.segments == segments


@pytest.mark.parametrize(
    ("length", "segments", "per_segment"), [(70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67)]
)
def test_chinese_text_uses_70_then_67_units_per_segment(length: int, segments: int, per_segment: int) -> None:
    """CJK characters are one UTF-16 unit each."""
    assert count_segments("中" * length) == SegmentCount("UCS-2", length, segments, per_segment)


def test_an_emoji_counts_two_units() -> None:
    """Characters outside the BMP are a surrogate pair: two UTF-16 units."""
    assert count_segments("😀") == SegmentCount("UCS-2", 2, 1, 70)
    assert count_segments("中" * 68 + "😀") == SegmentCount("UCS-2", 70, 1, 70)
    assert count_segments("中" * 69 + "😀").segments == 2


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("中" * 65 + "😀" + "中" * 67, 2),  # pair in units 66-67: fits exactly
        ("中" * 66 + "😀" + "中" * 66, 3),  # pair would straddle 67/68: moves to part 2
    ],
)
def test_an_emoji_is_never_split_across_segments(text: str, segments: int) -> None:
    """134 units is naively 2 × 67, unless a surrogate pair sits on the boundary."""
    result = count_segments(text)
    assert result.units == 134
    assert result.segments == segments


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("l’uso ‘sì’ ‚x‛ 5′", "l'uso 'sì' 'x' 5'"),
        ("“a” „b‟ «c» 7″", '"a" "b" "c" 7"'),
        ("a–b—c‐d‑e‒f―g−h", "a-b-c-d-e-f-g-h"),
        ("Attendere…", "Attendere..."),
        ("10\u00a0€ alle\u202f9\u2009h\u3000x\u2007y", "10 € alle 9 h x y"),
        ("pa\u200bro\u200cla\u200d\u2060\ufeff", "parola"),
        ("È À Ì Ò Ù", "E' A' I' O' U'"),
    ],
)
def test_normalise_replaces_typographic_characters_with_gsm7_fallbacks(source: str, expected: str) -> None:
    """Quotes, dashes, ellipsis, Unicode spaces, zero-width and capital grave vowels."""
    assert normalise_for_gsm(source) == expected
    assert is_gsm7(expected)


def test_normalise_leaves_letters_alone_even_when_not_gsm7() -> None:
    """á í ó ú ç É ñ keep their meaning and case; only the listed fallbacks change."""
    text = "á í ó ú ç É ñ Ł ş"
    assert normalise_for_gsm(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "موعدك مؤكد غدًا في الساعة ’10‘ — شكرًا",  # Arabic
        "আপনার অ্যাপয়েন্টমেন্ট নিশ্চিত ’কাল‘ — ধন্যবাদ",  # Bengali
        "Ваш запис підтверджено на завтра, п’ятниця\u00a0— дякуємо",  # Ukrainian
        "Programarea dumneavoastră e confirmată mâine; vă așteptăm la ghișeu",  # Romanian ă â ș
        "Vă rugăm să aduceți actul de identitate – mulțumim, l’echipa",  # Romanian ț with ’
        "Grazie 😀 l’appuntamento è confermato",  # emoji keeps it UCS-2
    ],
)
def test_prepare_sms_leaves_ucs2_text_byte_for_byte_unchanged(text: str) -> None:
    """Normalising cannot make these GSM-7, so their typography is kept as written."""
    assert count_segments(text).encoding == "UCS-2"
    assert prepare_sms(text).encode("utf-8") == text.encode("utf-8")


def test_prepare_sms_returns_gsm7_text_unchanged() -> None:
    """Text already in GSM-7 needs nothing."""
    text = "Appuntamento confermato: martedì 10:30, costo 5 €. {rif. [A-12]}"
    assert prepare_sms(text) == text


def test_segment_count_is_immutable() -> None:
    """A frozen value: callers can cache and compare it."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        count_segments("ciao").segments = 2  # type: ignore[misc]


def test_the_module_does_not_import_the_portal() -> None:
    """messaging is a library: importing segments must not pull in portal."""
    code = "import sys, messaging.segments; sys.exit(any(m.split('.')[0] == 'portal' for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
