"""The call log: a call starts now, ends with one button, says if an interpreter is needed, keeps short notes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal.auth.models import StaffMember
from portal.console import services as console
from portal.db import utcnow
from portal.intake.models import CALL_NOTES_MAX, CallLog
from portal.people import services as people
from portal.people.models import Person
from support import csrf_token, sign_in

NEW = "/staff/console/calls/new"


def _operator(client, create_staff, email: str = "op@example.org", name: str = "Giulia Operatrice"):  # type: ignore[no-untyped-def]
    staff = create_staff(email=email, roles=("operator",), full_name=name)
    sign_in(client, email)
    client.get("/?lang=en")
    return staff


def _person(session) -> Person:  # type: ignore[no-untyped-def]
    person = people.upsert_from_answers(
        session,
        {"contact.first_name": "Maria", "contact.last_name": "Rossi", "contact.phone": "+393331234567", "contact.language": "it"},
        utcnow(),
    )
    session.commit()
    return person


def _form(client, url: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The call form's fields as the page fills them in (hidden ids, the start time...)."""
    page = client.get(url).get_data(as_text=True)
    values = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    values.update({name: value for value, name in re.findall(r'<input[^>]*value="([^"]*)"[^>]*name="([a-z_]+)"', page)})
    values.update({"direction": "inbound", "reason": "new_request", "outcome": "", "interpreter_language": ""})
    for name in ("save", "end_now", "interpreter_needed"):  # buttons and boxes are sent only when used
        values.pop(name, None)
    return values


def _log(client, url: str = NEW, **changes: Any):  # type: ignore[no-untyped-def]
    data = _form(client, url)
    data.update({key: value for key, value in changes.items() if value is not None})
    return client.post(NEW if url.startswith(NEW) else url, data=data)


def _call_id(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/staff/console/calls/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def test_a_call_starts_now_for_the_caller_and_ends_with_one_button(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    operator = _operator(client, create_staff)
    person = _person(session)
    before = utcnow().replace(second=0, microsecond=0)
    call_id = _call_id(_log(client, "{}?person={}".format(NEW, person.id), save="Save the call", notes="Asks about the rent allowance"))

    call = session.get(CallLog, call_id)
    assert call.person_id == person.id and call.operator_id == operator.id
    assert before <= call.started_at <= utcnow() and call.ended_at is None
    page = client.get("/staff/console/calls/{}".format(call_id)).get_data(as_text=True)
    assert "End the call now" in page

    token = csrf_token(client, "/staff/console/calls/{}".format(call_id))
    assert client.post("/staff/console/calls/{}/end".format(call_id), data={"csrf_token": token}).status_code == 302
    session.expire_all()
    ended = session.get(CallLog, call_id).ended_at
    assert ended is not None and ended >= call.started_at
    client.post("/staff/console/calls/{}/end".format(call_id), data={"csrf_token": token})
    session.expire_all()
    assert session.get(CallLog, call_id).ended_at == ended  # the first end stands


def test_a_call_logged_afterwards_is_saved_and_ended_at_once(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _operator(client, create_staff)
    call_id = _call_id(_log(client, end_now="Save and end the call now", reason="information", outcome="information_given"))
    call = session.get(CallLog, call_id)
    assert call.ended_at is not None and call.outcome == "information_given" and call.person_id is None


def test_an_interpreter_needs_a_language(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _operator(client, create_staff)
    response = _log(client, save="Save the call", interpreter_needed="y", interpreter_language="")
    assert response.status_code == 400
    assert "Choose the language the interpreter is needed for." in response.get_data(as_text=True)
    response = _log(client, save="Save the call", interpreter_needed="y", interpreter_language="other")
    assert response.status_code == 400
    assert "Write the language the interpreter is needed for." in response.get_data(as_text=True)
    assert session.scalar(select(CallLog.id)) is None

    shipped = session.get(CallLog, _call_id(_log(client, save="Save the call", interpreter_needed="y", interpreter_language="ar")))
    assert shipped.interpreter_needed and shipped.interpreter_language == "ar"
    other = _call_id(
        _log(client, save="Save the call", interpreter_needed="y", interpreter_language="other", interpreter_language_other="Tigrinya")
    )
    assert session.get(CallLog, other).interpreter_language == "Tigrinya"
    page = client.get("/staff/console/calls/{}".format(other)).get_data(as_text=True)
    assert 'value="Tigrinya"' in page


def test_the_service_refuses_an_interpreter_without_a_language_and_forgets_one_not_needed(session, create_staff) -> None:  # type: ignore[no-untyped-def]
    operator = create_staff()
    with pytest.raises(console.CallLogError) as refused:
        console.start_call(session, operator, utcnow(), "new_request", interpreter_needed=True, interpreter_language=" ")
    assert refused.value.field == "interpreter_language"
    call = console.start_call(session, operator, utcnow(), "new_request", interpreter_needed=False, interpreter_language="ar")
    assert call.interpreter_language is None


def test_notes_are_kept_short(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    operator = _operator(client, create_staff)
    response = _log(client, save="Save the call", notes="x" * (CALL_NOTES_MAX + 1))
    assert response.status_code == 400
    assert "Keep the notes to {} characters or fewer.".format(CALL_NOTES_MAX) in response.get_data(as_text=True)
    assert session.scalar(select(CallLog.id)) is None
    with pytest.raises(console.CallLogError):
        console.start_call(session, operator, utcnow(), "other", notes="x" * (CALL_NOTES_MAX + 1))
    assert console.start_call(session, operator, utcnow(), "other", notes="x" * CALL_NOTES_MAX).notes == "x" * CALL_NOTES_MAX


def test_a_call_cannot_end_before_it_starts(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    operator = _operator(client, create_staff)
    response = _log(client, save="Save the call", started_at="2026-11-20T10:30", ended_at="2026-11-20T10:00")
    assert response.status_code == 400 and "The end cannot be before the start." in response.get_data(as_text=True)
    now = utcnow()
    with pytest.raises(console.CallLogError):
        console.start_call(session, operator, now, "other", ended_at=now - timedelta(minutes=1))


def test_times_are_typed_in_the_agency_s_time_zone(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _operator(client, create_staff)
    call = session.get(CallLog, _call_id(_log(client, save="Save the call", started_at="2026-07-01T10:30", ended_at="2026-07-01T10:42")))
    assert call.started_at.isoformat() == "2026-07-01T08:30:00+00:00"  # Rome is UTC+2 in summer
    assert call.ended_at.isoformat() == "2026-07-01T08:42:00+00:00"


def test_calls_are_listed_on_the_caller_s_record_newest_first(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    operator = _operator(client, create_staff)
    person = _person(session)
    now = utcnow()
    console.start_call(session, operator, now - timedelta(days=2), "new_request", person=person, notes="First call about the eviction")
    console.start_call(session, operator, now - timedelta(hours=1), "follow_up", person=person, notes="Called back with the ISEE")
    session.commit()
    assert [c.notes for c in console.calls_for(session, person)] == ["Called back with the ISEE", "First call about the eviction"]

    page = client.get("/staff/console/people/{}".format(person.id)).get_data(as_text=True)
    assert page.find("Called back with the ISEE") < page.find("First call about the eviction")
    assert "Follow-up on a request" in page and "Giulia Operatrice" in page


def test_only_the_operator_who_logged_a_call_edits_its_notes(app, client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _operator(client, create_staff)
    call_id = _call_id(_log(client, save="Save the call", notes="First notes"))
    url = "/staff/console/calls/{}".format(call_id)

    edited = _log(client, url, save="Save the call", notes="Corrected notes", outcome="referred")
    assert edited.status_code == 302
    session.expire_all()
    call = session.get(CallLog, call_id)
    assert call.notes == "Corrected notes" and call.outcome == "referred"

    other = app.test_client()
    _operator(other, create_staff, email="other@example.org", name="Paolo Collega")
    page = other.get(url).get_data(as_text=True)
    assert "Corrected notes" in page and "Only the operator who logged this call can change it." in page
    token = csrf_token(other, "/staff/")
    assert other.post(url, data={"csrf_token": token, "notes": "Not mine"}).status_code == 403
    assert other.post(url + "/end", data={"csrf_token": token}).status_code == 403
    session.expire_all()
    assert session.get(CallLog, call_id).notes == "Corrected notes"
    with pytest.raises(console.NotYourCall):
        console.update_call(session, session.get(CallLog, call_id), _staff(session, "other@example.org"), notes="Not mine")


def _staff(session, email: str):  # type: ignore[no-untyped-def]
    return session.scalars(select(StaffMember).where(StaffMember.email == email)).one()


def test_an_intake_started_from_a_call_is_linked_to_it(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    _operator(client, create_staff)
    person = _person(session)
    call_id = _call_id(_log(client, "{}?person={}".format(NEW, person.id), save="Save the call"))
    page = client.get("/staff/console/calls/{}".format(call_id)).get_data(as_text=True)
    start = re.search(r'href="(/staff/console/intakes/new\?[^"]+)"', page)
    assert start, "the call page offers to start an intake"
    form = client.get(start.group(1).replace("&amp;", "&")).get_data(as_text=True)
    data = dict(re.findall(r'<input[^>]*name="(csrf_token|person_id|call_id)"[^>]*value="([^"]*)"', form))
    data.update({"channel": "phone", "language": "it"})
    response = client.post("/staff/console/intakes/new", data=data)
    assert response.status_code == 302
    intake_id = int(response.headers["Location"].rsplit("/", 1)[1])
    session.expire_all()
    assert session.get(CallLog, call_id).intake_id == intake_id
