"""Answer types: what a person typed, or an API sent, turned into one answer value.

Each function takes a question (``portal.intake.questionnaire.Question``) and returns the
value in its Python form (see the shared contract in ``questionnaire.py``) or raises
:class:`Invalid` with ONE message, already translated into the current Flask-Babel locale.
Messages say what to type instead, with an example, because the people reading them are
often under stress and on a phone: "Enter a whole number, such as 2.", not "invalid".

Forms are forgiving (Italian and English number formats, dd/mm/yyyy dates, spaces in
phone numbers); the JSON form of the API is strict about types but shares the checks.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable, Iterable

import phonenumbers
from codicefiscale import codicefiscale
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

if TYPE_CHECKING:
    from portal.intake.questionnaire import Question

#: Phone numbers without a country code are Italian.
DEFAULT_REGION = "IT"
#: Text answers longer than this are refused unless the question sets ``max_length``.
DEFAULT_MAX_LENGTH = 200
#: Money answers above this are refused unless the question sets ``max`` (in euros).
DEFAULT_MONEY_MAX = Decimal("9999999.99")
CENT = Decimal("0.01")

_YES = frozenset({"yes", "y", "true", "1", "on", "si", "sì"})
_NO = frozenset({"no", "n", "false", "0", "off"})
_CURRENCY = re.compile(r"€|\beur(?:o|os)?\b", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f']+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
#: In a codice fiscale, the positions that hold digits, which "omocodia" (two people
#: with the same code) replaces with these letters, in order 0-9.
_OMOCODIA_POSITIONS = (6, 7, 9, 10, 12, 13, 14)
_OMOCODIA_LETTERS = "LMNPQRSTUV"


class Invalid(ValueError):
    """An answer that cannot be accepted; ``message`` is for the person, translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- forms: a non-blank, stripped string per question -------------------------------------------


def parse_integer(question: Question, text: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,9}", text):
        raise Invalid(_("Enter a whole number, such as 2."))
    return _bounded(question, int(text))


def parse_money(question: Question, text: str) -> Decimal:
    """Euros as people write them: "1.234,50", "1234.50", "1234,5", "€ 1 234"."""
    compact = _SPACES.sub("", _CURRENCY.sub("", text))
    negative = compact.startswith("-") or compact.endswith("-")
    amount = _amount(compact.strip("+-"))
    if amount is None:
        raise Invalid(_("Enter an amount in euros, such as 1.234,50."))
    if negative and amount:
        raise Invalid(_("Enter an amount of zero or more."))
    return _money_in_range(question, amount)


def _amount(text: str) -> Decimal | None:
    """The number in ``text``, deciding which of "." and "," separates the cents."""
    if not re.fullmatch(r"\d[\d.,]*", text):
        return None
    fraction = ""
    if "." in text and "," in text:
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        if text.count(decimal_mark) > 1:
            return None
        whole, fraction = text.split(decimal_mark)
        groups = whole.split("," if decimal_mark == "." else ".")
    elif "." in text or "," in text:
        groups = re.split(r"[.,]", text)
        # One separator followed by exactly three digits is a thousands separator
        # ("1.234" is 1234 euros in Italy); otherwise it separates the cents.
        if len(groups) == 2 and not (len(groups[1]) == 3 and groups[0] != "0"):
            (whole, fraction), groups = groups, [groups[0]]
    else:
        groups = [text]
    if len(groups) > 1 and not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
        return None
    if not all(g.isdigit() for g in groups) or len(fraction) > 2 or not (fraction.isdigit() or fraction == ""):
        return None
    return Decimal("".join(groups) + "." + (fraction or "0")).quantize(CENT)


def parse_date(question: Question, text: str) -> date:
    """ISO (what ``<input type=date>`` sends) or day first, as Italians write it."""
    iso = _ISO_DATE.fullmatch(text)
    day_first = _DAY_FIRST_DATE.fullmatch(text)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    elif day_first:
        day, month, year = (int(part) for part in day_first.groups())
    else:
        raise Invalid(_("Enter a date such as 15/03/2026."))
    if not 1900 <= year <= 2100:
        raise Invalid(_("Enter a date such as 15/03/2026."))
    try:
        return date(year, month, day)
    except ValueError:
        raise Invalid(_("Enter a date that exists, such as 15/03/2026.")) from None


def parse_text(question: Question, text: str) -> str:
    limit = question.max_length or DEFAULT_MAX_LENGTH
    if len(text) > limit:
        raise Invalid(_("Use %(max)s characters or fewer.", max=limit))
    return text


def parse_phone(question: Question, text: str) -> str:
    """E.164 ("+393331234567"); Italian without a country code, any country with one."""
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Invalid(_phone_message())
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(question: Question, text: str) -> str:
    """The syntax only: looking the domain up would be slow and leak the address."""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid(_("Enter an e-mail address such as name@example.org.")) from None


def parse_codice_fiscale(question: Question, text: str) -> str:
    """A personal code (16 characters) or the provisional numeric one (11 digits).

    Asylum seekers first receive an 11-digit numeric code, checked like a partita IVA.
    Personal codes may carry letters for digits (omocodia), which the check accepts.
    """
    code = re.sub(r"[\s\-]", "", text).upper()
    if re.fullmatch(r"\d{11}", code):
        if _luhn_check_digit(code[:10]) != int(code[10]):
            raise Invalid(_("This number has a wrong check digit. Compare it with your document."))
        return code
    if (
        len(code) != 16
        or not codicefiscale.CODICEFISCALE_RE.match(code.lower())
        or any(not (code[i].isdigit() or code[i] in _OMOCODIA_LETTERS) for i in _OMOCODIA_POSITIONS)
    ):
        raise Invalid(_codice_fiscale_message())
    if codicefiscale.encode_cin(code) != code[15]:
        raise Invalid(_("This codice fiscale has a wrong check character."))
    day = int(code[9:11].translate(str.maketrans(_OMOCODIA_LETTERS, "0123456789")))
    if not (1 <= day <= 31 or 41 <= day <= 71):
        raise Invalid(_("This codice fiscale has a date of birth that doesn't exist."))
    return code


def _phone_message() -> str:
    return _(
        "This phone number doesn't look right. Include the country code if it isn't Italian, "
        "such as +40 712 345 678."
    )


def _codice_fiscale_message() -> str:
    return _(
        "A codice fiscale has 16 letters and numbers, such as RSSMRA85T10A562S, or 11 digits. "
        "Leave it empty if you don't have one."
    )


def _luhn_check_digit(digits: str) -> int:
    """The check digit of a partita IVA (and of the provisional numeric codice fiscale)."""
    total = 0
    for position, char in enumerate(digits):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return (10 - total % 10) % 10


def parse_yes_no(question: Question, text: str) -> bool:
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    raise Invalid(_("Choose yes or no."))


def parse_single_choice(question: Question, text: str) -> str:
    if text not in {option.code for option in question.options}:
        raise Invalid(_("Choose one of the options."))
    return text


def parse_choices(question: Question, codes: Iterable[str]) -> list[str]:
    """Option codes in the questionnaire's order, once each; "none of these" stays alone."""
    chosen = set(codes)
    known = [option for option in question.options if option.code in chosen]
    if len(known) != len(chosen):
        raise Invalid(_("Choose only from the options shown."))
    exclusive = next((option for option in known if option.exclusive), None)
    if exclusive is not None and len(known) > 1:
        raise Invalid(_("“%(option)s” can't be chosen together with other answers.", option=_(exclusive.label)))
    return [option.code for option in known]


def parse_value_text(question: Question, text: str) -> Any:
    """A form field's answer; ``None`` when left blank."""
    text = text.strip()
    return FORM_PARSERS[question.type](question, text) if text else None


FORM_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "integer": parse_integer,
    "money": parse_money,
    "date": parse_date,
    "text": parse_text,
    "phone": parse_phone,
    "email": parse_email,
    "codice_fiscale": parse_codice_fiscale,
    "yes_no": parse_yes_no,
    "single_choice": parse_single_choice,
}


def _bounded(question: Question, value: int) -> int:
    low, high = question.min, question.max
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            raise Invalid(_("Enter a number from %(min)s to %(max)s.", min=low, max=high))
        if low is not None:
            raise Invalid(_("Enter %(min)s or more.", min=low))
        raise Invalid(_("Enter %(max)s or less.", max=high))
    return value


def _money_in_range(question: Question, amount: Decimal) -> Decimal:
    limit = DEFAULT_MONEY_MAX if question.max is None else Decimal(question.max)
    if amount > limit:
        raise Invalid(_("Enter an amount up to %(max)s euros.", max=question.max or limit))
    return amount


# --- JSON: the API's types, then the same checks ------------------------------------------------


def from_json(question: Question, value: Any) -> Any:
    """A scalar answer from its JSON form (groups are handled by the questionnaire)."""
    kind = question.type
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(_("Enter a whole number, such as 2."))
        return _bounded(question, value)
    if kind == "money":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(_("Enter an amount in euros, such as 1.234,50."))
        try:
            amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise Invalid(_("Enter an amount in euros, such as 1.234,50.")) from None
        if amount < 0:
            raise Invalid(_("Enter an amount of zero or more."))
        return _money_in_range(question, amount)
    if kind == "yes_no":
        if not isinstance(value, bool):
            raise Invalid(_("Choose yes or no."))
        return value
    if kind == "multiple_choice":
        if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
            raise Invalid(_("Choose only from the options shown."))
        return parse_choices(question, value)
    if kind == "date":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise Invalid(_("Enter a date such as 15/03/2026."))
        return parse_date(question, value)
    if not isinstance(value, str):
        raise Invalid(wrong_type_message(kind))
    return FORM_PARSERS[kind](question, value.strip())


def wrong_type_message(kind: str) -> str:
    """What to send instead, when an API sends the wrong JSON type for an answer."""
    messages: dict[str, Callable[[], str]] = {
        "integer": lambda: _("Enter a whole number, such as 2."),
        "money": lambda: _("Enter an amount in euros, such as 1.234,50."),
        "date": lambda: _("Enter a date such as 15/03/2026."),
        "text": lambda: _("Enter your answer as text."),
        "phone": _phone_message,
        "email": lambda: _("Enter an e-mail address such as name@example.org."),
        "codice_fiscale": _codice_fiscale_message,
        "yes_no": lambda: _("Choose yes or no."),
        "single_choice": lambda: _("Choose one of the options."),
        "multiple_choice": lambda: _("Choose only from the options shown."),
        "group": lambda: _("Enter a list of people."),
    }
    return messages[kind]()


def to_json(question: Question, value: Any) -> Any:
    """The JSON form of a valid answer: money as a number, dates as "YYYY-MM-DD"."""
    if question.type == "money":
        return int(value) if value == value.to_integral_value() else float(value)
    if question.type == "date":
        return value.isoformat()
    if question.type == "group":
        return [{f.id: to_json(f, row[f.id]) for f in question.fields if row.get(f.id) is not None} for row in value]
    if question.type == "multiple_choice":
        return list(value)
    return value


def from_stored(question: Question, value: Any) -> Any:
    """The Python form of an answer this questionnaire stored itself (trusted, not re-checked)."""
    if question.type == "money":
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    if question.type == "date":
        return date.fromisoformat(value)
    if question.type == "group":
        return [
            {f.id: from_stored(f, row[f.id]) for f in question.fields if row.get(f.id) is not None} for row in value
        ]
    if question.type == "multiple_choice":
        return list(value)
    return value
