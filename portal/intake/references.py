"""Intake reference codes: short, unambiguous on the phone, and self-checking.

A reference is ``PU-`` and eight characters from an alphabet without look-alikes (no
0/O, 1/I/L, U/V pairs): seven random ones and a check character computed with the
Luhn mod N algorithm over the alphabet, so a single misheard or mistyped character, and
most swaps of two neighbours, make the code invalid instead of pointing at another
person's request.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "PU"
_BODY = 7
_INDEX = {char: i for i, char in enumerate(ALPHABET)}
#: Characters people type around a code: ignored.
_SEPARATORS = str.maketrans("", "", " -_./\t")


def check_character(body: str) -> str:
    """The Luhn mod N check character for ``body`` (characters of :data:`ALPHABET`)."""
    n = len(ALPHABET)
    total = 0
    factor = 2
    for char in reversed(body):
        addend = factor * _INDEX[char]
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def _format(code: str) -> str:
    return "{}-{}-{}".format(PREFIX, code[:4], code[4:])


def generate() -> str:
    """A fresh random reference (uniqueness is the caller's job: see services.start)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(_BODY))
    return _format(body + check_character(body))


def normalise_reference(text: str) -> str | None:
    """``"pu 4k7m 2x9q"`` → ``"PU-4K7M-2X9Q"``; None when it cannot be a reference.

    Case, spaces, dots and dashes do not matter and the ``PU`` may be left out. Letters
    outside the alphabet are not guessed at: a wrong guess could open someone else's
    request, so the code is refused and the person asked to read it again.
    """
    code = text.upper().translate(_SEPARATORS)
    if len(code) == len(PREFIX) + _BODY + 1 and code.startswith(PREFIX):
        code = code[len(PREFIX):]
    if len(code) != _BODY + 1 or any(char not in _INDEX for char in code):
        return None
    return _format(code)


def is_valid_reference(text: str) -> bool:
    """True when ``text`` normalises to a reference whose check character is right."""
    reference = normalise_reference(text)
    if reference is None:
        return False
    code = reference[len(PREFIX) + 1:].replace("-", "")
    return check_character(code[:-1]) == code[-1]
