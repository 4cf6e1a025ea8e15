"""The operator console: finding callers, their record, intakes taken on the phone, the staff view."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import select

from messaging.models import Message
from portal.db import utcnow
from portal.intake import services as intakes
from portal.intake import triage
from portal.intake.models import CallLog, Intake, IntakeChange
from portal.people import services as people
from portal.people.models import Person
from support import csrf_token, sign_in

COMPLETE: dict[str, Any] = {
    "household.adults": 2,
    "household.minors": 1,
    "housing.situation": "private_rent",
    "housing.eviction": "none",
    "housing.monthly_rent": Decimal("1234.50"),
    "work.status": "unemployed",
    "residence.in_comune": True,
    "contact.first_name": "Maria",
    "contact.last_name": "Rossi",
    "contact.phone": "+393331234567",
    "contact.language": "it",
    "contact.channel": "sms",
    "consent.privacy_acknowledged": True,
}
#: What the operator types on the compact page for a complete intake.
FORM: dict[str, str] = {
    "household.adults": "2",
    "household.minors": "1",
    "housing.situation": "private_rent",
    "housing.eviction": "none",
    "housing.monthly_rent": "650",
    "work.status": "unemployed",
    "residence.in_comune": "yes",
    "contact.first_name": "Amina",
    "contact.last_name": "Haddad",
    "contact.phone": "+39 347 555 1234",
    "contact.channel": "sms",
}
PRIVACY_LEAD = (
    "%(agency)s processes your personal data to help you with your housing situation, as part of its public social services."
)


def _sign_in(client, create_staff, roles=("operator",), email="op@example.org", english=True, **kwargs):  # type: ignore[no-untyped-def]
    staff = create_staff(email=email, roles=roles, full_name=kwargs.pop("full_name", "Giulia Operatrice"), **kwargs)
    sign_in(client, email)
    if english:
        client.get("/?lang=en")  # English labels, whatever the catalogs hold today
    return staff


def _person(session, **answers: Any) -> Person:  # type: ignore[no-untyped-def]
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


def _submitted(session, staff=None, **answers: Any) -> Intake:  # type: ignore[no-untyped-def]
    """An intake taken by ``staff`` (or online when None) and submitted."""
    now = utcnow()
    intake = intakes.start(session, "phone" if staff else "web", "it", now, staff=staff)
    intakes.save_answers(session, intake, {**COMPLETE, **answers}, now, staff=staff)
    assert intakes.submit(session, intake, now, "2026-11", helpline="800 123 456", link="http://localhost/", staff=staff) == []
    session.commit()
    return intake


def _post(client, url: str, data: dict[str, Any], form_url: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(url, data={"csrf_token": csrf_token(client, form_url or url), **data})


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def _search(client, text: str) -> str:  # type: ignore[no-untyped-def]
    response = _post(client, "/staff/console/", {"q": text})
    assert response.status_code == 200
    page = _text(response)
    return page[page.find('id="results-title"') :]


def _start(client, language: str = "ar", channel: str = "phone", **extra: str) -> int:  # type: ignore[no-untyped-def]
    response = _post(client, "/staff/console/intakes/new", {"channel": channel, "language": language, **extra})
    assert response.status_code == 302, _text(response)
    match = re.search(r"/staff/console/intakes/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


# --- who may do what -------------------------------------------------------------------------


def test_console_pages_send_anonymous_visitors_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    for url in (
        "/staff/console/",
        "/staff/console/people/1",
        "/staff/console/intakes/new",
        "/staff/console/intakes/1",
        "/staff/console/calls/new?person=1",
        "/staff/console/calls/1",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"], url


def test_a_caseworker_reads_an_intake_but_does_not_search_start_intakes_or_log_calls(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    intake = _submitted(session)
    person_id = intake.person_id
    _sign_in(client, create_staff, roles=("caseworker",), email="cw@example.org")
    assert client.get("/staff/console/intakes/{}".format(intake.id)).status_code == 200
    for url in ("/staff/console/", "/staff/console/intakes/new", "/staff/console/calls/new", "/staff/console/people/{}".format(person_id)):
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, "/staff/")  # a valid token: the refusal is about the role
    assert client.post("/staff/console/intakes/new", data={"csrf_token": token, "channel": "phone", "language": "it"}).status_code == 403
    edit = client.post("/staff/console/intakes/{}".format(intake.id), data={"csrf_token": token, "contact.first_name": "X"})
    assert edit.status_code == 403
    assert client.post("/staff/console/", data={"csrf_token": token, "q": "Rossi"}).status_code == 403


def test_forms_without_a_csrf_token_are_refused(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, create_staff)
    assert client.post("/staff/console/", data={"q": "Rossi"}).status_code == 400
    assert client.post("/staff/console/intakes/new", data={"channel": "phone", "language": "it"}).status_code == 400
    assert session.scalar(select(Intake.id)) is None


# --- search ----------------------------------------------------------------------------------


def test_search_by_name_in_any_order_finds_the_person_and_flags_a_likely_duplicate(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    first = _person(session)
    second = _person(session, **{"contact.first_name": "María", "contact.phone": "+393339990000"})
    other = _person(session, **{"contact.first_name": "Luca", "contact.last_name": "Bianchi", "contact.phone": "+393471112222"})
    _sign_in(client, create_staff)

    results = _search(client, "rossi MARIA")
    assert "/staff/console/people/{}".format(first.id) in results
    assert "/staff/console/people/{}".format(second.id) in results
    assert "/staff/console/people/{}".format(other.id) not in results
    assert "Possible duplicate" in results  # same full name, once the accents are set aside

    record = _text(client.get("/staff/console/people/{}".format(first.id)))
    assert "Possible duplicate" in record and "/staff/console/people/{}".format(second.id) in record


@pytest.mark.parametrize("typed", ["333 123 4567", "+39 333-123-4567", "0039 3331234567", "rssmra85t10a562s", "RSS MRA 85T10 A562S"])
def test_search_by_phone_or_codice_fiscale_however_it_is_typed(client, session, create_staff, typed: str) -> None:  # type: ignore[no-untyped-def]
    person = _person(session, **{"contact.codice_fiscale": "RSSMRA85T10A562S"})
    _person(session, **{"contact.first_name": "Luca", "contact.last_name": "Bianchi", "contact.phone": "+393471112222"})
    _sign_in(client, create_staff)
    results = _search(client, typed)
    assert "/staff/console/people/{}".format(person.id) in results
    assert "Bianchi" not in results


def test_search_by_a_reference_read_over_the_phone(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    intake = _submitted(session)
    _sign_in(client, create_staff)
    read_out = intake.reference.lower().replace("-", " ")
    assert "/staff/console/people/{}".format(intake.person_id) in _search(client, read_out)


def test_what_an_operator_types_never_appears_in_an_address(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _person(session)
    _sign_in(client, create_staff)
    page = _text(client.get("/staff/console/?q=Rossi"))
    assert 'method="post"' in page and "Maria Rossi" not in page  # a GET searches nothing
    response = _post(client, "/staff/console/", {"q": "Rossi"})
    assert response.status_code == 200 and "Maria Rossi" in _text(response)  # answered in place, no redirect


# --- the caller's record -----------------------------------------------------------------------


def test_the_caller_record_lists_intakes_messages_and_calls(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    operator = _sign_in(client, create_staff)
    intake = _submitted(session, staff=operator)
    person = session.get(Person, intake.person_id)
    session.add(CallLog(person_id=person.id, operator_id=operator.id, started_at=utcnow(), reason="follow_up", notes="Asked about the documents"))
    session.commit()

    page = _text(client.get("/staff/console/people/{}".format(person.id)))
    assert intake.reference in page and "Submitted" in page
    assert "Request receipt" in page  # the receipt queued at submission, from messaging's history
    assert "Asked about the documents" in page and "Follow-up on a request" in page
    assert "/staff/console/intakes/new?person={}".format(person.id) in page
    assert "/staff/console/calls/new?person={}".format(person.id) in page


# --- an intake taken on the phone ---------------------------------------------------------------


def test_an_operator_takes_an_intake_for_an_arabic_caller_while_working_in_italian(app: Flask, client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    operator = _sign_in(client, create_staff, english=False, preferred_locale="it")
    intake_id = _start(client, language="ar")
    url = "/staff/console/intakes/{}".format(intake_id)

    page = _text(client.get(url))
    assert '<html lang="it" dir="ltr">' in page  # the operator's interface
    assert 'lang="ar" dir="rtl"' in page  # the notice to read aloud, in the caller's language...
    with app.test_request_context():
        for language in ("ar", "it"):  # ...and in the operator's, side by side
            with force_locale(language):
                assert str(escape(gettext(PRIVACY_LEAD, agency="Agenzia Casa"))) in page, language
    assert re.search(r'<option value="ar" selected>', page)

    response = _post(client, url, {**FORM, "contact.language": "ar", "consent.privacy_acknowledged": "yes", "action": "submit"})
    assert response.status_code == 302, _text(response)
    page = _text(client.get(response.headers["Location"]))

    session.expire_all()
    intake = session.get(Intake, intake_id)
    assert intake.status == "submitted" and intake.channel == "phone" and intake.language == "ar"
    assert intake.created_by_id == operator.id
    assert intake.privacy_acknowledged_at is not None and intake.privacy_notice_version == "2026-11"
    changes = list(session.scalars(select(IntakeChange).where(IntakeChange.intake_id == intake_id)))
    assert changes and {change.staff_id for change in changes} == {operator.id}
    assert "contact.first_name" in {qid for change in changes for qid in change.question_ids}
    receipt = session.scalars(select(Message).where(Message.kind == "intake_receipt")).one()
    assert receipt.language == "ar" and receipt.recipient_key == "person:{}".format(intake.person_id)

    with app.test_request_context(), force_locale("it"):
        urgency = str(triage.urgency_label(intake.urgency))
    assert 'id="triage-title"' in page and urgency in page
    assert intake.reference in page


def test_a_known_caller_s_intake_starts_with_their_details_and_stays_linked(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    person = _person(session, **{"contact.language": "uk", "contact.email": "maria@example.org"})
    _sign_in(client, create_staff)
    intake_id = _start(client, language="uk", channel="front_desk", person_id=str(person.id))
    page = _text(client.get("/staff/console/intakes/{}".format(intake_id)))
    assert 'value="Rossi"' in page and 'value="maria@example.org"' in page
    intake = session.get(Intake, intake_id)
    assert intake.person_id == person.id and intake.channel == "front_desk" and intake.language == "uk"


def test_a_bad_answer_on_the_compact_page_keeps_every_other_answer(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, create_staff)
    intake_id = _start(client, language="it")
    url = "/staff/console/intakes/{}".format(intake_id)
    response = _post(client, url, {**FORM, "household.adults": "two", "contact.language": "it", "action": "save"})

    assert response.status_code == 400
    page = _text(response)
    assert 'value="two"' in page  # what was typed stays in its field...
    assert 'id="q-household-adults-error"' in page and "Enter a whole number" in page  # ...with its error next to it
    assert 'href="#q-household-adults"' in page  # ...and in the summary
    session.expire_all()
    answers = intakes.get_answers(session.get(Intake, intake_id))
    assert "household.adults" not in answers
    assert answers["contact.last_name"] == "Haddad" and answers["housing.monthly_rent"] == Decimal("650.00")
    assert answers["residence.in_comune"] is True


def test_submitting_without_the_privacy_notice_read_shows_what_is_missing(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, create_staff)
    intake_id = _start(client, language="it")
    url = "/staff/console/intakes/{}".format(intake_id)
    response = _post(client, url, {**FORM, "contact.language": "it", "action": "submit"})
    assert response.status_code == 400
    assert "Read the privacy notice to the caller and tick the box." in _text(response)
    session.expire_all()
    intake = session.get(Intake, intake_id)
    assert intake.status == "draft" and intakes.get_answers(intake)["contact.first_name"] == "Amina"


def test_questions_the_answers_rule_out_are_folded_and_say_when_they_are_asked(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, create_staff)
    intake_id = _start(client, language="it")
    url = "/staff/console/intakes/{}".format(intake_id)
    _post(client, url, {"housing.situation": "homeless", "contact.language": "it", "action": "save"})
    page = _text(client.get(url))
    folded = page[page.find('<details class="console-question-hidden'):]
    assert "Do you have to leave your home?" in folded[: folded.find("</details>")]
    assert "(only if “Where are you living now?” is none of:" in page


# --- the staff view of a submitted intake -------------------------------------------------------


def test_a_submitted_intake_shows_answers_version_triage_reasons_and_changes(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    operator = create_staff(email="op@example.org", full_name="Giulia Operatrice")
    intake = _submitted(session, staff=operator, **{"housing.eviction": "notice_received", "housing.eviction_date": utcnow().date(), "housing.eviction_cause": "arrears", "housing.arrears_cause": "job_loss"})
    _sign_in(client, create_staff, roles=("caseworker",), email="cw@example.org")
    page = _text(client.get("/staff/console/intakes/{}".format(intake.id)))

    assert "Questionnaire version" in page and ">1<" in page
    assert "€1,234.50" in page  # money the reader's way
    assert "In a home I rent from a private landlord" in page  # option labels, not codes
    assert "I received a letter asking me to leave" in page
    assert "High priority" in page and "The household has received an eviction notice." in page
    assert "Based on:" in page and "D.L. 102/2013" in page  # a measure's reason with its source
    assert "Giulia Operatrice" in page and "How many adults live with you, counting yourself?" in page  # change history
    assert "2026-11" in page  # the privacy notice acknowledged


def test_sensitive_answers_are_shown_only_to_caseworkers_coordinators_and_the_operator_who_took_the_call(app: Flask, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    operator = create_staff(email="op@example.org")
    intake = _submitted(session, staff=operator, **{"safety.violence": "now"})
    answer = "Yes, it is happening now"
    create_staff(email="cw@example.org", roles=("caseworker",))
    create_staff(email="co@example.org", roles=("coordinator",))
    create_staff(email="other@example.org", roles=("operator",))
    create_staff(email="admin@example.org", roles=("admin",))
    url = "/staff/console/intakes/{}".format(intake.id)
    for email, sees in (
        ("op@example.org", True),
        ("cw@example.org", True),
        ("co@example.org", True),
        ("other@example.org", False),
        ("admin@example.org", False),
    ):
        client = app.test_client()
        sign_in(client, email)
        client.get("/?lang=en")
        page = _text(client.get(url))
        assert (answer in page) is sees, email
        assert ("Safety at home needs attention now." in page) is sees, email  # the reason that rests on it
        assert ("Recorded, restricted" in page) is not sees, email


def test_another_operator_continuing_a_draft_neither_sees_nor_erases_a_sensitive_answer(app: Flask, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    first = create_staff(email="op@example.org")
    now = utcnow()
    draft = intakes.start(session, "phone", "it", now, staff=first)
    intakes.save_answers(session, draft, {"safety.violence": "now", "contact.language": "it"}, now, staff=first)
    session.commit()

    client = app.test_client()
    _sign_in(client, create_staff, email="other@example.org")
    url = "/staff/console/intakes/{}".format(draft.id)
    page = _text(client.get(url))
    assert "Recorded, restricted" in page and 'name="safety.violence"' not in page
    assert _post(client, url, {**FORM, "contact.language": "it", "action": "save"}).status_code == 302
    session.expire_all()
    assert intakes.get_answers(session.get(Intake, draft.id))["safety.violence"] == "now"
