"""People: filled from contact answers, found by any handle an operator hears, reached safely."""

from __future__ import annotations

import pytest

from portal.db import utcnow
from portal.intake.models import Intake
from portal.intake.references import generate
from portal.people import services as people
from portal.people.models import Person


def _person(session, **answers):  # type: ignore[no-untyped-def]
    values = {
        "contact.first_name": "Maria",
        "contact.last_name": "Rossi",
        "contact.language": "it",
        "contact.channel": "sms",
        "contact.phone": "+393331234567",
    }
    values.update(answers)
    person = people.upsert_from_answers(session, {k: v for k, v in values.items() if v is not None}, utcnow())
    session.commit()
    return person


def test_contact_answers_become_a_person(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    person = people.upsert_from_answers(
        session,
        {
            "contact.first_name": " Nguyễn ",
            "contact.last_name": "Thị Hà",
            "contact.phone": "+393401112233",
            "contact.email": "Ha.Nguyen@Example.ORG",
            "contact.codice_fiscale": "nghtha85m41z251x",
            "contact.language": "zh",
            "contact.channel": "whatsapp",
            "consent.whatsapp": True,
            "safety.safe_to_contact": True,
            "safety.safe_hours": ["morning"],
        },
        now,
    )
    session.commit()
    session.expire_all()
    person = session.get(Person, person.id)
    assert (person.first_name, person.last_name) == ("Nguyễn", "Thị Hà")
    assert person.email == "ha.nguyen@example.org"
    assert person.codice_fiscale == "NGHTHA85M41Z251X"
    assert person.language == "zh" and person.preferred_channel == "whatsapp"
    assert person.whatsapp_consent_at == now
    assert person.safe_hours == "09:00-13:00"
    assert person.search_name == "nguyen thi ha"


def test_a_later_intake_updates_what_it_answers_and_keeps_the_rest(session) -> None:  # type: ignore[no-untyped-def]
    person = _person(session, **{"contact.email": "maria@example.org"})
    people.upsert_from_answers(session, {"contact.phone": "+393479998877", "consent.whatsapp": False}, utcnow(), person=person)
    assert person.phone == "+393479998877"
    assert person.email == "maria@example.org"
    assert person.whatsapp_consent_at is None


@pytest.mark.parametrize("query", ["rossi maria", "MARIA ROSSI", "rossì", "mar ros", "Rossi"])
def test_search_by_name_finds_words_in_any_order_ignoring_accents_and_case(session, query) -> None:  # type: ignore[no-untyped-def]
    maria = _person(session)
    _person(session, **{"contact.first_name": "Marco", "contact.last_name": "Bianchi", "contact.phone": "+393330000001"})
    assert [p.id for p in people.search(session, query)] == [maria.id]


def test_search_by_name_with_apostrophes_and_accents_in_the_record(session) -> None:  # type: ignore[no-untyped-def]
    person = _person(session, **{"contact.first_name": "Noémie", "contact.last_name": "D'Angelo"})
    assert [p.id for p in people.search(session, "noemie d'angelo")] == [person.id]
    assert [p.id for p in people.search(session, "angelo NOEMIE")] == [person.id]
    assert people.search(session, "giulia") == []


@pytest.mark.parametrize(
    "typed", ["+39 333 123 4567", "333 1234567", "3331234567", "0039 333 123 45 67", "(+39) 333-123-4567", "+393331234567"]
)
def test_search_by_phone_accepts_the_usual_ways_of_typing_it(session, typed) -> None:  # type: ignore[no-untyped-def]
    maria = _person(session)
    _person(session, **{"contact.first_name": "Marco", "contact.last_name": "Bianchi", "contact.phone": "+393331234568"})
    assert [p.id for p in people.search(session, typed)] == [maria.id]


def test_search_by_foreign_phone_number(session) -> None:  # type: ignore[no-untyped-def]
    person = _person(session, **{"contact.phone": "+40712345678"})
    assert [p.id for p in people.search(session, "+40 712 345 678")] == [person.id]
    assert [p.id for p in people.search(session, "0040712345678")] == [person.id]


def test_search_by_codice_fiscale_in_any_case(session) -> None:  # type: ignore[no-untyped-def]
    person = _person(session, **{"contact.codice_fiscale": "RSSMRA85T10A562S"})
    _person(session, **{"contact.first_name": "Anna", "contact.phone": "+393330000002"})
    assert [p.id for p in people.search(session, "rssmra85t10a562s")] == [person.id]
    provisional = _person(session, **{"contact.first_name": "Amal", "contact.codice_fiscale": "12345678903", "contact.phone": None})
    assert [p.id for p in people.search(session, "12345678903")] == [provisional.id]


def test_search_by_intake_reference_as_read_over_the_phone(session) -> None:  # type: ignore[no-untyped-def]
    person = _person(session)
    other = _person(session, **{"contact.first_name": "Anna", "contact.phone": "+393330000003"})
    reference = generate()
    now = utcnow()
    for who, code in ((person, reference), (other, generate())):
        session.add(
            Intake(reference=code, status="submitted", questionnaire_version="1", answers={}, language="it",
                   channel="phone", person_id=who.id, created_at=now, updated_at=now)
        )
    session.commit()
    spoken = reference.lower().replace("-", " ")
    assert [p.id for p in people.search(session, spoken)] == [person.id]
    assert [p.id for p in people.search(session, reference[3:])] == [person.id]


def test_likely_duplicates_share_a_phone_an_email_a_codice_fiscale_or_the_full_name(session) -> None:  # type: ignore[no-untyped-def]
    maria = _person(session, **{"contact.email": "maria@example.org", "contact.codice_fiscale": "RSSMRA85T10A562S"})
    same_phone = _person(session, **{"contact.first_name": "Luca", "contact.last_name": "Verdi"})
    same_email = _person(session, **{"contact.first_name": "Ana", "contact.last_name": "Pop", "contact.phone": "+393330000010",
                                     "contact.email": "MARIA@example.org"})
    same_cf = _person(session, **{"contact.first_name": "M.", "contact.last_name": "R.", "contact.phone": "+393330000011",
                                  "contact.codice_fiscale": "rssmra85t10a562s"})
    same_name = _person(session, **{"contact.first_name": "MARÌA", "contact.last_name": "rossi", "contact.phone": "+393330000012"})
    _stranger = _person(session, **{"contact.first_name": "Ion", "contact.last_name": "Popescu", "contact.phone": "+393330000013"})

    found = {p.id for p in people.likely_duplicates(session, maria)}
    assert found == {same_phone.id, same_email.id, same_cf.id, same_name.id}
    assert maria.id not in found


@pytest.mark.parametrize(
    ("preferred", "phone", "email", "whatsapp", "expected"),
    [
        ("whatsapp", True, True, True, ("whatsapp", "sms", "email")),
        ("whatsapp", True, True, False, ("sms", "email")),
        ("whatsapp", False, True, True, ("email",)),
        ("sms", True, True, False, ("sms", "email")),
        ("sms", False, True, False, ("email",)),
        ("email", True, True, False, ("email", "sms")),
        ("email", True, False, False, ("sms",)),
        ("phone_call", True, True, False, ("sms", "email")),
        ("phone_call", False, True, False, ("email",)),
    ],
)
def test_recipient_orders_channels_from_the_preference_and_drops_those_without_an_address(
    session, preferred, phone, email, whatsapp, expected
) -> None:  # type: ignore[no-untyped-def]
    person = _person(
        session,
        **{
            "contact.channel": preferred,
            "contact.phone": "+393331234567" if phone else None,
            "contact.email": "maria@example.org" if email else None,
            "consent.whatsapp": whatsapp,
        },
    )
    recipient = people.recipient(person)
    assert recipient is not None
    assert tuple(recipient.channels) == expected
    assert recipient.key == "person:{}".format(person.id)
    assert recipient.language == "it"


def test_nobody_is_messaged_when_it_is_not_safe_or_there_is_no_address(session) -> None:  # type: ignore[no-untyped-def]
    unsafe = _person(session, **{"safety.safe_to_contact": False, "contact.email": "maria@example.org"})
    assert people.recipient(unsafe) is None
    unreachable = _person(session, **{"contact.first_name": "Anna", "contact.phone": None})
    assert people.recipient(unreachable) is None


def test_safe_hours_travel_with_the_recipient(session) -> None:  # type: ignore[no-untyped-def]
    person = _person(session, **{"safety.safe_to_contact": True, "safety.safe_hours": ["afternoon", "evening"], "contact.language": "ar"})
    recipient = people.recipient(person)
    assert recipient is not None
    assert recipient.safe_hours == "13:00-20:30" and recipient.language == "ar"


@pytest.mark.parametrize(
    ("parts", "window"),
    [
        (["morning"], "09:00-13:00"),
        (["morning", "afternoon"], "09:00-18:00"),
        (["morning", "afternoon", "evening"], "09:00-20:30"),
        (["morning", "evening"], "09:00-13:00"),
        ([], None),
    ],
)
def test_chosen_parts_of_the_day_become_one_window_never_wider_than_chosen(parts, window) -> None:  # type: ignore[no-untyped-def]
    assert people.safe_hours_window(parts) == window
