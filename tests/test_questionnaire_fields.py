"""Every answer type, as a person types it into the wizard's form.

A bad answer gets one clear message naming what to type instead, and nothing else the
person typed on the page is lost: the valid answers come back as values, the bad one in
``raw`` so the form can show it again next to its message.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from portal.intake.questionnaire import Questionnaire, current

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


@pytest.fixture(scope="module")
def questionnaire() -> Questionnaire:
    return current()


def parse_one(questionnaire: Questionnaire, question_id: str, *values: str) -> tuple[Any, str | None]:
    """The value (or None) and the error (or None) for one field filled with ``values``."""
    form = MultiDict([(question_id, value) for value in values])
    parsed = questionnaire.parse_form(form, [question_id])
    return parsed.values.get(question_id), parsed.errors.get(question_id)


def accepts(questionnaire: Questionnaire, question_id: str, text: str) -> Any:
    value, error = parse_one(questionnaire, question_id, text)
    assert error is None, "{!r} refused: {}".format(text, error)
    return value


def refuses(questionnaire: Questionnaire, question_id: str, text: str) -> str:
    value, error = parse_one(questionnaire, question_id, text)
    assert error is not None, "{!r} accepted as {!r}".format(text, value)
    assert value is None
    return error


# --- integers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("2", 2), (" 3 ", 3), ("+4", 4), ("20", 20), ("1", 1)])
def test_a_count_of_adults_is_read_as_a_whole_number(questionnaire: Questionnaire, text: str, expected: int) -> None:
    assert accepts(questionnaire, "household.adults", text) == expected


@pytest.mark.parametrize("text", ["two", "2.5", "2,0", "1e3", "--1"])
def test_something_that_is_not_a_whole_number_asks_for_one(questionnaire: Questionnaire, text: str) -> None:
    assert refuses(questionnaire, "household.adults", text) == "Enter a whole number, such as 2."


@pytest.mark.parametrize("text", ["0", "21", "-1"])
def test_a_count_outside_its_bounds_says_which_numbers_are_allowed(questionnaire: Questionnaire, text: str) -> None:
    assert refuses(questionnaire, "household.adults", text) == "Enter a number from 1 to 20."


def test_a_household_with_no_children_can_say_zero(questionnaire: Questionnaire) -> None:
    assert accepts(questionnaire, "household.minors", "0") == 0


# --- money ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,50", "1234.50"),
        ("1234.50", "1234.50"),
        ("1234,5", "1234.50"),
        ("€ 1 234", "1234.00"),
        ("1234 €", "1234.00"),
        ("1.234", "1234.00"),
        ("1,234.50", "1234.50"),
        ("650", "650.00"),
        ("650 euro", "650.00"),
        ("0", "0.00"),
        ("12.5", "12.50"),
    ],
)
def test_rent_is_read_in_the_ways_people_write_euros(questionnaire: Questionnaire, text: str, expected: str) -> None:
    value = accepts(questionnaire, "housing.monthly_rent", text)
    assert value == Decimal(expected) and value.as_tuple().exponent == -2


@pytest.mark.parametrize("text", ["-50", "- 50", "50-"])
def test_a_negative_amount_is_refused(questionnaire: Questionnaire, text: str) -> None:
    assert refuses(questionnaire, "housing.monthly_rent", text) == "Enter an amount of zero or more."


@pytest.mark.parametrize("text", ["abc", "12,345,67", "1.2.3", "12,3456", "€", "5 dollars", "0,500", ".50"])
def test_nonsense_amounts_ask_for_euros_with_an_example(questionnaire: Questionnaire, text: str) -> None:
    assert refuses(questionnaire, "housing.monthly_rent", text) == "Enter an amount in euros, such as 1.234,50."


def test_an_implausible_rent_is_refused_with_the_limit(questionnaire: Questionnaire) -> None:
    assert refuses(questionnaire, "housing.monthly_rent", "25.000") == "Enter an amount up to 10000 euros."


# --- dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["2026-03-15", "15/03/2026", "15/3/2026", "15.03.2026", "15-03-2026", " 15/03/2026 "]
)
def test_an_eviction_date_is_read_from_the_date_picker_or_as_italians_write_it(
    questionnaire: Questionnaire, text: str
) -> None:
    assert accepts(questionnaire, "housing.eviction_date", text) == date(2026, 3, 15)


@pytest.mark.parametrize("text", ["31/02/2026", "2026-02-30", "29/02/2027", "00/01/2026", "15/13/2026"])
def test_a_date_that_does_not_exist_is_refused_with_a_clear_message(questionnaire: Questionnaire, text: str) -> None:
    assert refuses(questionnaire, "housing.eviction_date", text) == "Enter a date that exists, such as 15/03/2026."


@pytest.mark.parametrize("text", ["tomorrow", "15/03/26", "03-2026", "2026/03/15", "15/03/1026"])
def test_something_that_is_not_a_date_asks_for_one(questionnaire: Questionnaire, text: str) -> None:
    assert refuses(questionnaire, "housing.eviction_date", text) == "Enter a date such as 15/03/2026."


def test_a_leap_day_is_a_real_date(questionnaire: Questionnaire) -> None:
    assert accepts(questionnaire, "housing.eviction_date", "29/02/2028") == date(2028, 2, 29)


# --- phone, e-mail, codice fiscale ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("333 123 4567", "+393331234567"),
        ("+39 333 1234567", "+393331234567"),
        ("0039 333-123-4567", "+393331234567"),
        ("06 1234 5678", "+390612345678"),
        ("+40 712 345 678", "+40712345678"),
        ("0040712345678", "+40712345678"),
        ("+880 1712-345678", "+8801712345678"),
    ],
)
def test_phone_numbers_are_stored_in_international_form_italian_by_default(
    questionnaire: Questionnaire, text: str, expected: str
) -> None:
    assert accepts(questionnaire, "contact.phone", text) == expected


@pytest.mark.parametrize("text", ["12345", "call me", "+40 123", "333 123 4567 890 12"])
def test_a_phone_number_that_cannot_exist_is_refused(questionnaire: Questionnaire, text: str) -> None:
    assert refuses(questionnaire, "contact.phone", text) == (
        "This phone number doesn't look right. Include the country code if it isn't Italian, such as +40 712 345 678."
    )


def test_an_email_address_is_checked_for_form_only(questionnaire: Questionnaire) -> None:
    assert accepts(questionnaire, "contact.email", " Mario.Rossi@Example.org ") == "Mario.Rossi@example.org"
    # No DNS look-up happens (the network guard would fail the test), yet the domain is fine.
    assert accepts(questionnaire, "contact.email", "someone@comune.prato.it") == "someone@comune.prato.it"


@pytest.mark.parametrize("text", ["mario", "mario@", "@example.org", "mario rossi@example.org", "mario@@example.org"])
def test_a_malformed_email_address_is_refused(questionnaire: Questionnaire, text: str) -> None:
    assert refuses(questionnaire, "contact.email", text) == "Enter an e-mail address such as name@example.org."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RSSMRA85T10A562S", "RSSMRA85T10A562S"),
        ("rssmra 85t10 a562s", "RSSMRA85T10A562S"),
        # Omocodia: a digit replaced by a letter (2 -> N) and the check character recomputed.
        ("RSSMRA85T10A56NH", "RSSMRA85T10A56NH"),
        # The provisional numeric code of an asylum seeker (11 digits, partita IVA check).
        ("12345678903", "12345678903"),
    ],
)
def test_a_codice_fiscale_is_accepted_personal_omocode_or_provisional(
    questionnaire: Questionnaire, text: str, expected: str
) -> None:
    assert accepts(questionnaire, "contact.codice_fiscale", text) == expected


def test_a_codice_fiscale_with_a_wrong_check_character_says_so(questionnaire: Questionnaire) -> None:
    assert refuses(questionnaire, "contact.codice_fiscale", "RSSMRA85T10A562X") == (
        "This codice fiscale has a wrong check character."
    )


def test_a_provisional_code_with_a_wrong_check_digit_says_so(questionnaire: Questionnaire) -> None:
    assert refuses(questionnaire, "contact.codice_fiscale", "12345678904") == (
        "This number has a wrong check digit. Compare it with your document."
    )


@pytest.mark.parametrize("text", ["RSSMRA85T10", "1234567890", "RSSMRA85T10A562SS", "RSSMRA85TXXA562S", "ciao"])
def test_something_that_is_not_a_codice_fiscale_explains_its_shape(questionnaire: Questionnaire, text: str) -> None:
    assert refuses(questionnaire, "contact.codice_fiscale", text).startswith("A codice fiscale has 16 letters")


def test_a_codice_fiscale_with_an_impossible_birth_day_is_refused(questionnaire: Questionnaire) -> None:
    # Day 35 is neither a man's (1-31) nor a woman's (41-71); the check character is right.
    assert refuses(questionnaire, "contact.codice_fiscale", "RSSMRA85T35A562G") == (
        "This codice fiscale has a date of birth that doesn't exist."
    )


def test_a_person_without_a_codice_fiscale_can_go_on(questionnaire: Questionnaire) -> None:
    assert parse_one(questionnaire, "contact.codice_fiscale", "  ") == (None, None)
    assert "contact.codice_fiscale" not in questionnaire.missing_for_submit({})


# --- yes/no, choices, text ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("yes", True), ("no", False), ("true", True), ("false", False)])
def test_yes_and_no(questionnaire: Questionnaire, text: str, expected: bool) -> None:
    assert accepts(questionnaire, "residence.in_comune", text) is expected


def test_an_answer_that_is_neither_yes_nor_no_is_refused(questionnaire: Questionnaire) -> None:
    assert refuses(questionnaire, "residence.in_comune", "maybe") == "Choose yes or no."


def test_a_choice_must_be_one_of_the_options(questionnaire: Questionnaire) -> None:
    assert accepts(questionnaire, "housing.situation", "hosted") == "hosted"
    assert refuses(questionnaire, "housing.situation", "castle") == "Choose one of the options."


def test_the_language_choice_offers_every_shipped_language(questionnaire: Questionnaire) -> None:
    assert accepts(questionnaire, "contact.language", "uk") == "uk"
    assert refuses(questionnaire, "contact.language", "fr") == "Choose one of the options."


def test_several_choices_come_back_once_each_in_the_order_of_the_options(questionnaire: Questionnaire) -> None:
    value, error = parse_one(questionnaire, "housing.problems", "too_expensive", "overcrowded", "too_expensive")
    assert error is None and value == ["overcrowded", "too_expensive"]


def test_none_of_these_cannot_be_chosen_with_a_problem(questionnaire: Questionnaire) -> None:
    value, error = parse_one(questionnaire, "housing.problems", "none", "unfit")
    assert value is None and error == "“None of these” can't be chosen together with other answers."
    assert parse_one(questionnaire, "housing.problems", "none") == (["none"], None)


def test_a_multiple_choice_refuses_codes_it_does_not_offer(questionnaire: Questionnaire) -> None:
    assert parse_one(questionnaire, "housing.problems", "unfit", "haunted")[1] == "Choose only from the options shown."


def test_ticking_nothing_clears_a_multiple_choice(questionnaire: Questionnaire) -> None:
    parsed = questionnaire.parse_form(MultiDict(), ["housing.problems"])
    assert parsed.values == {"housing.problems": None} and parsed.errors == {}


def test_text_is_trimmed_and_bounded(questionnaire: Questionnaire) -> None:
    assert accepts(questionnaire, "contact.first_name", "  Amina ") == "Amina"
    assert refuses(questionnaire, "contact.first_name", "A" * 101) == "Use 100 characters or fewer."


# --- household members (a group of rows) -------------------------------------------------------------


def test_household_members_are_read_row_by_row_skipping_empty_rows(questionnaire: Questionnaire) -> None:
    form = MultiDict(
        [
            ("household.members.0.relation", "child"),
            ("household.members.0.age", "7"),
            ("household.members.1.relation", ""),
            ("household.members.1.age", ""),
            ("household.members.2.relation", "parent"),
            ("household.members.2.age", "71"),
            ("household.members.2.disabled", "yes"),
        ]
    )
    parsed = questionnaire.parse_form(form, ["household.members"])
    assert parsed.errors == {}
    assert parsed.values["household.members"] == [
        {"relation": "child", "age": 7},
        {"relation": "parent", "age": 71, "disabled": True},
    ]


def test_a_bad_cell_is_reported_by_row_and_field_and_the_rows_come_back_as_typed(questionnaire: Questionnaire) -> None:
    form = MultiDict(
        [
            ("household.members.0.relation", "child"),
            ("household.members.0.age", "seven"),
            ("household.members.1.age", "40"),
        ]
    )
    parsed = questionnaire.parse_form(form, ["household.members"])
    assert parsed.errors == {
        "household.members.0.age": "Enter a whole number, such as 2.",
        "household.members.1.relation": "Fill this in for each person you add.",
    }
    assert "household.members" not in parsed.values
    assert parsed.raw["household.members"] == [{"relation": "child", "age": "seven"}, {"age": "40"}]


def test_the_number_of_household_rows_is_bounded(questionnaire: Questionnaire) -> None:
    form = MultiDict(
        [(key, value) for n in range(16) for key, value in (
            ("household.members.{}.relation".format(n), "child"), ("household.members.{}.age".format(n), "5"))]
    )
    parsed = questionnaire.parse_form(form, ["household.members"])
    assert parsed.errors == {"household.members": "You can add up to 15 people."}


def test_no_rows_at_all_clears_the_household_list(questionnaire: Questionnaire) -> None:
    parsed = questionnaire.parse_form(MultiDict(), ["household.members"])
    assert parsed.values == {"household.members": None} and parsed.errors == {}


# --- a whole page -------------------------------------------------------------------------------------


def test_one_bad_answer_keeps_every_other_answer_on_the_page(questionnaire: Questionnaire) -> None:
    form = MultiDict(
        {
            "housing.situation": "private_rent",
            "housing.eviction": "notice_received",
            "housing.eviction_date": "31/02/2026",
            "housing.eviction_cause": "arrears",
            "housing.arrears_cause": "job_loss",
            "housing.registered_lease": "yes",
            "housing.monthly_rent": "650,00",
        }
    )
    housing = [q.id for q in questionnaire.sections[1].questions]
    parsed = questionnaire.parse_form(form, housing)
    assert parsed.errors == {"housing.eviction_date": "Enter a date that exists, such as 15/03/2026."}
    assert parsed.raw["housing.eviction_date"] == "31/02/2026"
    assert parsed.values == {
        "housing.situation": "private_rent",
        "housing.eviction": "notice_received",
        "housing.eviction_cause": "arrears",
        "housing.arrears_cause": "job_loss",
        "housing.problems": None,
        "housing.registered_lease": "yes",
        "housing.monthly_rent": Decimal("650.00"),
    }


def test_each_bad_field_gets_exactly_one_message(questionnaire: Questionnaire) -> None:
    form = MultiDict({"household.adults": "lots", "household.minors": "-2", "household.members_over_60": "1"})
    parsed = questionnaire.parse_form(form, ["household.adults", "household.minors", "household.members_over_60"])
    assert parsed.errors == {
        "household.adults": "Enter a whole number, such as 2.",
        "household.minors": "Enter a number from 0 to 20.",
    }
    assert parsed.values == {"household.members_over_60": 1}
    assert parsed.raw == {"household.adults": "lots", "household.minors": "-2", "household.members_over_60": "1"}


def test_questions_hidden_by_an_answer_on_the_same_page_are_cleared_not_checked(questionnaire: Questionnaire) -> None:
    form = MultiDict({"housing.situation": "owner", "housing.eviction": "none", "housing.eviction_date": "whenever"})
    parsed = questionnaire.parse_form(form, ["housing.situation", "housing.eviction", "housing.eviction_date"])
    assert parsed.errors == {}
    assert parsed.values["housing.eviction_date"] is None


def test_questions_hidden_by_an_earlier_page_are_cleared(questionnaire: Questionnaire) -> None:
    form = MultiDict({"residence.in_comune": "yes", "residence.works_in_comune": "yes"})
    parsed = questionnaire.parse_form(
        form, ["residence.in_comune", "residence.works_in_comune"], answers={"work.status": "retired"}
    )
    assert parsed.values == {"residence.in_comune": True, "residence.works_in_comune": None}


@pytest.mark.parametrize(
    ("channel", "phone", "email", "error"),
    [
        ("sms", "", "a@example.org", "To be contacted this way, also give your phone number."),
        ("whatsapp", "", "", "To be contacted this way, also give your phone number."),
        ("phone_call", "", "a@example.org", "To be contacted this way, also give your phone number."),
        ("email", "333 123 4567", "", "To be contacted this way, also give your e-mail address."),
        ("sms", "333 123 4567", "", None),
        ("email", "", "a@example.org", None),
    ],
)
def test_the_chosen_channel_needs_the_matching_address(
    questionnaire: Questionnaire, channel: str, phone: str, email: str, error: str | None
) -> None:
    form = MultiDict({"contact.channel": channel, "contact.phone": phone, "contact.email": email})
    parsed = questionnaire.parse_form(form, ["contact.phone", "contact.email", "contact.channel"])
    assert parsed.errors.get("contact.channel") == error
    assert ("contact.channel" in parsed.values) is (error is None)


def test_a_bad_phone_number_is_the_only_complaint_when_sms_is_chosen(questionnaire: Questionnaire) -> None:
    form = MultiDict({"contact.channel": "sms", "contact.phone": "12"})
    parsed = questionnaire.parse_form(form, ["contact.phone", "contact.channel"])
    assert list(parsed.errors) == ["contact.phone"] and parsed.values == {"contact.channel": "sms"}


# --- translated at parse time ------------------------------------------------------------------------


def test_messages_are_translated_into_the_language_of_the_page(
    make_app, tmp_path: Path, questionnaire: Questionnaire  # type: ignore[no-untyped-def]
) -> None:
    """Messages are looked up when parsing, in the current locale, through the catalogs."""
    italian = Translations.load(str(TRANSLATIONS), ["it"])
    app = make_app("sqlite:///{}".format(tmp_path / "unused.sqlite3"))
    form = MultiDict({"household.adults": "two", "housing.eviction_date": "31/02/2026"})
    with app.app_context():
        with force_locale("it"):
            in_italian = questionnaire.parse_form(form, ["household.adults", "housing.eviction_date"]).errors
        with force_locale("en"):
            in_english = questionnaire.parse_form(form, ["household.adults", "housing.eviction_date"]).errors
    assert in_english == {
        "household.adults": "Enter a whole number, such as 2.",
        "housing.eviction_date": "Enter a date that exists, such as 15/03/2026.",
    }
    assert in_italian == {key: italian.gettext(text) for key, text in in_english.items()}
