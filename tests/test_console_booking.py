"""Operators book, move and cancel a caller's appointments from the caller's record."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.models import Message
from portal.appointments.models import Appointment
from portal.appointments.policy import BookingPolicy
from portal.appointments.services import book
from portal.appointments.slots import encode_slot, find_slots
from portal.db import utcnow
from portal.intake import services as intakes
from portal.people import services as people
from portal.people.models import Person
from support import sign_in
from test_slots import EVERY_DAY, Agency, agency, plan  # noqa: F401

SLOT_FORM = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"[^<]*<input type="hidden" name="slot" value="([^"]+)"')


@pytest.fixture
def open_agency(session: Session, agency: Agency) -> Agency:  # noqa: F811
    """Anna receives every day at centro, 09:00–13:00, in person or by phone."""
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "13:00")
    session.commit()
    return agency


@pytest.fixture
def caller(session: Session) -> Person:
    person = people.upsert_from_answers(session, {
        "contact.first_name": "Maria", "contact.last_name": "Rossi", "contact.language": "it",
        "contact.channel": "sms", "contact.phone": "+393331234567"}, utcnow())
    session.commit()
    return person


@pytest.fixture
def operator(client: FlaskClient, create_staff):  # type: ignore[no-untyped-def]
    staff = create_staff(email="op@example.org", roles=("operator",))
    sign_in(client, "op@example.org")
    client.get("/?lang=en")
    return staff


def _policy(app) -> BookingPolicy:  # type: ignore[no-untyped-def]
    return BookingPolicy.from_config(app.config["PORTA"])


def _record(client: FlaskClient, person: Person, query: str = "") -> str:
    response = client.get("/staff/console/people/{}{}".format(person.id, query))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _buttons(page: str) -> list[tuple[str, str]]:
    """(CSRF token, slot id) of each "Book this" / "Move here" form on the page."""
    return [(token, html.unescape(slot)) for token, slot in SLOT_FORM.findall(page)]


def _recommending(session: Session, person: Person, service_code: str, language: str = "it"):  # type: ignore[no-untyped-def]
    """A request submitted for ``person`` whose triage recommends ``service_code``."""
    now = utcnow()
    intake = intakes.start(session, "phone", language, now)
    intakes.save_answers(session, intake, {
        "household.adults": 1, "household.minors": 0, "housing.situation": "private_rent", "housing.eviction": "none",
        "work.status": "unemployed", "residence.in_comune": True, "contact.first_name": "Maria",
        "contact.last_name": "Rossi", "contact.phone": "+393331234567", "contact.language": language,
        "contact.channel": "sms", "consent.privacy_acknowledged": True}, now)
    assert intakes.submit(session, intake, now, "2026-11", helpline="800 123 456", link="http://localhost/") == []
    intake.person_id, intake.recommended_service = person.id, service_code
    session.commit()
    return intake


def test_an_operator_books_the_recommended_service_for_a_caller_in_two_clicks(
    app, client: FlaskClient, session: Session, open_agency, caller: Person, operator  # type: ignore[no-untyped-def]
) -> None:
    intake = _recommending(session, caller, "colloquio")

    page = _record(client, caller)  # first click: the record
    assert "Next free times for “colloquio”" in page and "Book this" in page
    token, slot_id = _buttons(page)[0]
    response = client.post("/staff/console/people/{}/appointments".format(caller.id),
                           data={"csrf_token": token, "slot": slot_id})  # second click: "Book this"

    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/staff/console/people/{}#appointments".format(caller.id))
    appointment = session.scalars(select(Appointment)).one()
    assert (appointment.person_id, appointment.channel, appointment.created_by_id, appointment.intake_id) == (
        caller.id, "phone", operator.id, intake.id)
    confirmation = session.scalar(select(Message).where(Message.kind == "appointment_confirmation"))
    assert confirmation is not None and confirmation.subject_key == appointment.subject_key
    after = _record(client, caller)
    assert "The appointment is booked for" in after
    upcoming = after[after.find("Upcoming appointments"):after.find("Book</h3>")]
    assert "Booked" in upcoming and "Cancel appointment" in upcoming and "Change" in upcoming


def test_a_time_taken_meanwhile_is_refused_kindly_and_nothing_is_booked_for_the_caller(
    app, client: FlaskClient, session: Session, open_agency, caller: Person, operator  # type: ignore[no-untyped-def]
) -> None:
    _recommending(session, caller, "colloquio")
    token, slot_id = _buttons(_record(client, caller))[0]
    someone = people.upsert_from_answers(session, {"contact.first_name": "Ada", "contact.last_name": "Bianchi"}, utcnow())
    book(session, slot_id, someone, now=utcnow(), policy=_policy(app))
    session.commit()

    response = client.post("/staff/console/people/{}/appointments".format(caller.id), data={"csrf_token": token, "slot": slot_id})

    assert response.status_code == 302
    assert "This time has just been taken" in _record(client, caller)
    session.expire_all()
    assert session.scalars(select(Appointment).where(Appointment.person_id == caller.id)).all() == []


def test_without_a_request_the_operator_chooses_the_service_first(
    client: FlaskClient, open_agency, caller: Person, operator  # type: ignore[no-untyped-def]
) -> None:
    page = _record(client, caller)
    assert "Choose the service" in page and "Book this" not in page
    assert "Book this" in _record(client, caller, "?service=colloquio")


def _booked(app, session: Session, agency: Agency, person: Person) -> Appointment:  # type: ignore[no-untyped-def]
    slot = find_slots(session, _policy(app), agency.service, utcnow(), mode="in_person", limit=1)[0]
    appointment = book(session, encode_slot(slot, _policy(app).secret_key), person, now=utcnow(), policy=_policy(app))
    session.commit()
    return appointment


def test_an_operator_cancels_an_appointment_and_its_reminders_stop(
    app, client: FlaskClient, session: Session, open_agency, caller: Person, operator  # type: ignore[no-untyped-def]
) -> None:
    appointment = _booked(app, session, open_agency, caller)
    page = _record(client, caller)
    token = re.search(r'action="/staff/console/appointments/{}/cancel"[^>]*>\s*<input[^>]*value="([^"]+)"'.format(
        appointment.id), page).group(1)

    response = client.post("/staff/console/appointments/{}/cancel".format(appointment.id), data={"csrf_token": token})

    assert response.status_code == 302
    session.expire_all()
    cancelled = session.get(Appointment, appointment.id)
    assert (cancelled.status, cancelled.cancelled_by_id) == ("cancelled", operator.id)
    kinds = {m.kind: m.status for m in session.scalars(select(Message).where(Message.subject_key == appointment.subject_key))}
    assert kinds["appointment_reminder"] == "cancelled" and kinds["appointment_cancelled"] == "pending"
    after = _record(client, caller)
    assert "The appointment is cancelled" in after and "No upcoming appointments." in after
    assert "Past and cancelled appointments" in after
    assert appointment.starts_at in {s.start for s in find_slots(session, _policy(app), open_agency.service, utcnow(),
                                                                  mode="in_person", limit=5)}


def test_an_operator_moves_an_appointment_to_another_time(
    app, client: FlaskClient, session: Session, open_agency, caller: Person, operator  # type: ignore[no-untyped-def]
) -> None:
    appointment = _booked(app, session, open_agency, caller)
    old_start = appointment.starts_at
    page = client.get("/staff/console/appointments/{}/change".format(appointment.id)).get_data(as_text=True)
    assert "Move here" in page
    token, slot_id = _buttons(page)[-1]

    response = client.post("/staff/console/appointments/{}/change".format(appointment.id),
                           data={"csrf_token": token, "slot": slot_id})

    assert response.status_code == 302
    session.expire_all()
    moved = session.get(Appointment, appointment.id)
    assert moved.status == "booked" and moved.revision == 1 and moved.starts_at > old_start
    assert session.scalar(select(Message).where(Message.kind == "appointment_rescheduled")) is not None
    assert "The appointment is moved to" in _record(client, caller)


def test_only_console_roles_book_and_every_form_needs_its_csrf_token(
    app, client: FlaskClient, session: Session, create_staff, open_agency, caller: Person  # type: ignore[no-untyped-def]
) -> None:
    appointment = _booked(app, session, open_agency, caller)
    slot_id = encode_slot(find_slots(session, _policy(app), open_agency.service, utcnow(), limit=1)[0], _policy(app).secret_key)
    create_staff(email="cw@example.org", roles=("caseworker",))
    sign_in(client, "cw@example.org")
    assert client.post("/staff/console/people/{}/appointments".format(caller.id), data={"slot": slot_id}).status_code in (400, 403)
    assert client.get("/staff/console/appointments/{}/change".format(appointment.id)).status_code == 403

    create_staff(email="op2@example.org", roles=("operator",))
    other = app.test_client()
    sign_in(other, "op2@example.org")
    assert other.post("/staff/console/people/{}/appointments".format(caller.id), data={"slot": slot_id}).status_code == 400
    assert other.post("/staff/console/appointments/{}/cancel".format(appointment.id)).status_code == 400
    session.expire_all()
    assert session.get(Appointment, appointment.id).status == "booked"
    assert len(session.scalars(select(Appointment)).all()) == 1


def test_a_tampered_slot_is_refused(client: FlaskClient, session: Session, open_agency, caller: Person, operator) -> None:  # type: ignore[no-untyped-def]
    _recommending(session, caller, "colloquio")
    token, slot_id = _buttons(_record(client, caller))[0]
    response = client.post("/staff/console/people/{}/appointments".format(caller.id),
                           data={"csrf_token": token, "slot": slot_id[:-2] + "xx"})
    assert response.status_code == 400
    assert session.scalars(select(Appointment)).all() == []


def test_past_appointments_are_listed_apart_without_actions(
    app, client: FlaskClient, session: Session, open_agency, caller: Person, operator  # type: ignore[no-untyped-def]
) -> None:
    appointment = _booked(app, session, open_agency, caller)
    appointment.starts_at -= timedelta(days=60)
    appointment.ends_at -= timedelta(days=60)
    appointment.status = "attended"
    session.commit()
    page = _record(client, caller)
    assert "No upcoming appointments." in page
    assert "Attended" in page[page.find("Past and cancelled appointments"):]
