"""How many SMS segments a text costs, and how to keep Italian text in GSM-7.

An SMS carries 140 octets. In the GSM 03.38 default alphabet (3GPP TS 23.038)
a character is a 7-bit septet, so 160 fit; any character outside that alphabet
forces the whole message into UCS-2 (UTF-16), where only 70 fit. A single
typographic apostrophe pasted from a word processor therefore more than halves
the capacity and can double or triple the bill. This module counts segments the
way a handset or gateway does, and offers a conservative normalisation that
swaps such look-alike punctuation for its GSM-7 equivalent.

Standard library only: ``messaging`` is a library and never imports ``portal``.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

#: The 127 characters of the default alphabet, in code order (0x00-0x7F)
#: with the escape code 0x1B left out. Greek capitals are escaped so that
#: look-alikes (U+2206 INCREMENT, U+2126 OHM SIGN) cannot creep in.
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039eÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

#: The extension table: each is sent as ESC + code, so it costs two septets.
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7, CONCAT_GSM7 = 160, 153
SINGLE_UCS2, CONCAT_UCS2 = 70, 67
# Concatenated parts lose 6 octets to the user-data header (UDH) that tells the
# handset how to reassemble them: 153 septets (rounded down from 153.1) or 67
# UTF-16 code units per part.


@dataclass(frozen=True)
class SegmentCount:
    """What a message will cost.

    ``units`` is septets for GSM-7 (extension characters count 2) and UTF-16
    code units for UCS-2 (characters outside the BMP, most emoji, count 2).
    ``per_segment`` is the capacity of each segment actually used: 160/70 when
    the message fits in one, 153/67 once it has to be concatenated.
    """

    encoding: str
    units: int
    segments: int
    per_segment: int


def is_gsm7(text: str) -> bool:
    """True when every character is in the default alphabet or its extension."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _unit_costs(text: str, gsm: bool) -> list[int]:
    """Cost of each character, kept per character so that packing can respect
    the rule that an escape pair or a surrogate pair is never split."""
    if gsm:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(costs: list[int], limit: int) -> int:
    """Greedy fill as handsets do: a two-unit character that would straddle a
    boundary moves whole to the next segment, leaving one unit unused. Hence
    ``ceil(units / limit)`` can under-count by one."""
    segments, used = 1, 0
    for cost in costs:
        if used + cost > limit:
            segments, used = segments + 1, 0
        used += cost
    return segments


def count_segments(text: str) -> SegmentCount:
    """Count the segments ``text`` will be sent as.

    An empty body is reported as one GSM-7 segment of zero units: providers
    either reject it or bill it as a single (empty) message, never as zero, so
    one is the safe figure for cost estimates.
    """
    gsm = is_gsm7(text)
    single, concat = (SINGLE_GSM7, CONCAT_GSM7) if gsm else (SINGLE_UCS2, CONCAT_UCS2)
    costs = _unit_costs(text, gsm)
    units = sum(costs)
    encoding = GSM7 if gsm else UCS2
    if units <= single:
        return SegmentCount(encoding, units, 1, single)
    return SegmentCount(encoding, units, _pack(costs, concat), concat)


_APOSTROPHE = "'"
_QUOTE = '"'
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

#: Only typographic look-alikes whose ASCII fallback is standard, plus the
#: Italian convention for capital accented vowels (``E'`` for ``È``), which GSM-7
#: lacks although it has the lower-case ``è``. Letters are otherwise left alone:
#: mapping ``á`` to ``à`` or ``ç`` to ``Ç`` (as some gateways do) changes the
#: word, and that is not ours to decide.
_GSM_FALLBACKS: dict[int, str | None] = {
    **{ord(c): _APOSTROPHE for c in "\u2018\u2019\u201a\u201b\u2032"},  # ‘ ’ ‚ ‛ ′
    **{ord(c): _QUOTE for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"},  # “ ” „ ‟ « » ″
    **{ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},  # hyphens, – — ― −
    ord("\u2026"): "...",  # …
    **{ord(c): " " for c in _SPACES},
    **{ord(c): None for c in _ZERO_WIDTH},
    ord("È"): "E'",
    ord("À"): "A'",
    ord("Ì"): "I'",
    ord("Ò"): "O'",
    ord("Ù"): "U'",
}


def normalise_for_gsm(text: str) -> str:
    """Replace characters that would silently push Latin text into UCS-2.

    Everything not in the fallback table is returned untouched, so the result
    may still need UCS-2 (see :func:`prepare_sms`). Removing zero-width
    joiners would break emoji sequences and Persian spelling, which is why
    callers should normally use :func:`prepare_sms` instead.
    """
    return text.translate(_GSM_FALLBACKS)


def prepare_sms(text: str) -> str:
    """The body to send: normalised if that makes it fully GSM-7, else the original.

    A text that needs UCS-2 anyway (Arabic, Bengali, Ukrainian, Romanian with
    ``ș``/``ț``...) gains nothing from normalisation, so it is left exactly as
    written rather than losing its typography for no saving.
    """
    normalised = normalise_for_gsm(text)
    return normalised if is_gsm7(normalised) else text
