"""Operators put callers on the waiting list, book the times held for them, take them off;
staff watch every line on one page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.models import Message
from portal.appointments import services, waiting
from portal.appointments.models import Appointment, WaitingListEntry, WaitingListOffer
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import encode_slot
from portal.db import utcnow
from portal.people import services as people
from portal.people.models import Person
from support import sign_in
from test_console_booking import _recommending, caller, open_agency, operator  # noqa: F401
from test_slots import EVERY_DAY, Agency, agency, make_service, plan  # noqa: F401

RECORD = "/staff/console/people/{}"


def _policy(app) -> BookingPolicy:  # type: ignore[no-untyped-def]
    return BookingPolicy.from_config(app.config["PORTA"])


def _someone(session: Session, first_name: str, phone: str) -> Person:
    person = people.upsert_from_answers(session, {
        "contact.first_name": first_name, "contact.last_name": "Esposito", "contact.language": "it",
        "contact.channel": "sms", "contact.phone": phone}, utcnow())
    session.commit()
    return person


@pytest.fixture
def full_agency(app, session: Session, agency: Agency) -> list[Appointment]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Anna sees one person a day at 09:00, and every such time within the waiting window is booked."""
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "09:30", modes=["in_person"])
    session.commit()
    policy, now = _policy(app), utcnow()
    filler = _someone(session, "Gino", "+393330000009")
    booked = []
    while (slot := waiting.first_free(session, policy, agency.service, now)) and slot.start <= now + policy.waiting_after:
        booked.append(services.book(session, encode_slot(slot, policy.secret_key), filler, now=now, policy=policy))
    session.commit()
    assert booked and waiting.may_join(session, policy, agency.service, now)
    return booked


def _join(app, session: Session, agency: Agency, person: Person, minutes_ago: int = 0):  # type: ignore[no-untyped-def]  # noqa: F811
    """``person`` joined the line ``minutes_ago`` (as if on the web)."""
    when = utcnow() - timedelta(minutes=minutes_ago)
    entry = waiting.join(session, person, agency.service, now=when, policy=_policy(app))
    session.commit()
    return entry


def _free_a_time(app, session: Session, booked: list[Appointment]) -> Appointment:  # type: ignore[no-untyped-def]
    """Cancel the latest booking inside the window: its time is offered to the first in line at once."""
    freed = booked[-1]
    services.cancel(session, freed, now=utcnow(), policy=_policy(app))
    session.commit()
    return freed


def _record(client: FlaskClient, person: Person, query: str = "") -> str:
    response = client.get(RECORD.format(person.id) + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _token(page: str, action: str) -> str:
    """The CSRF token of the form posting to ``action``."""
    match = re.search(r'action="{}"[^>]*>\s*<input[^>]*value="([^"]+)"'.format(re.escape(action)), page)
    assert match, "no form posting to {}".format(action)
    return match.group(1)


def _entries(session: Session, person: Person) -> list[WaitingListEntry]:
    session.expire_all()
    return list(session.scalars(select(WaitingListEntry).where(WaitingListEntry.person_id == person.id)))


def test_an_operator_puts_a_caller_who_finds_nothing_soon_enough_on_the_waiting_list(
    app, client: FlaskClient, session: Session, agency: Agency, full_agency, caller: Person, operator  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    intake = _recommending(session, caller, "colloquio")
    _join(app, session, agency, _someone(session, "Ada", "+393330000001"), minutes_ago=10)
    page = _record(client, caller)
    assert "Add to the waiting list" in page
    action = "/staff/console/people/{}/waiting-list".format(caller.id)

    response = client.post(action, data={"csrf_token": _token(page, action), "service": "colloquio"})

    assert response.status_code == 302 and response.headers["Location"].endswith(RECORD.format(caller.id) + "#appointments")
    [entry] = _entries(session, caller)
    assert (entry.status, entry.channel, entry.created_by_id, entry.intake_id, entry.language) == (
        "waiting", "phone", operator.id, intake.id, None)
    joined = session.scalar(select(Message).where(Message.kind == "waiting_list_joined", Message.subject_key == entry.subject_key))
    assert joined is not None
    after = _record(client, caller)
    assert "The caller is on the waiting list (place 2). They will receive a message." in after
    line = after[after.find("<caption>Waiting list</caption>"):after.find('id="book-title"')]
    assert "colloquio" in line and "<td>2</td>" in line and "Waiting" in line
    assert "Add to the waiting list" not in after  # already in this line


def test_the_waiting_list_is_not_offered_while_a_time_is_free_within_the_window(
    client: FlaskClient, open_agency, caller: Person, operator  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    page = _record(client, caller, "?service=colloquio")
    assert "Book this" in page and "Add to the waiting list" not in page


def test_an_operator_books_the_time_held_for_a_caller_and_it_appears_among_the_upcoming(
    app, client: FlaskClient, session: Session, agency: Agency, full_agency, caller: Person, operator  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    entry = _join(app, session, agency, caller)
    freed = _free_a_time(app, session, full_agency)
    page = _record(client, caller)
    assert "Book the offered time" in page and "Held until" in page
    action = "/staff/console/waiting-list/{}/accept".format(entry.id)

    response = client.post(action, data={"csrf_token": _token(page, action)})

    assert response.status_code == 302
    session.expire_all()
    [appointment] = session.scalars(select(Appointment).where(Appointment.person_id == caller.id)).all()
    assert (appointment.status, appointment.starts_at) == ("booked", freed.starts_at)
    assert (appointment.channel, appointment.created_by_id) == ("phone", operator.id)
    assert session.get(WaitingListEntry, entry.id).status == "booked"
    after = _record(client, caller)
    assert "The appointment is booked for" in after
    upcoming = after[after.find("Upcoming appointments"):after.find('id="book-title"')]
    assert "Cancel appointment" in upcoming and "Book the offered time" not in after


def test_an_offer_that_ran_out_is_refused_and_nothing_is_booked(
    app, client: FlaskClient, session: Session, agency: Agency, full_agency, caller: Person, operator  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    entry = _join(app, session, agency, caller)
    _free_a_time(app, session, full_agency)
    page = _record(client, caller)
    offer = session.scalar(select(WaitingListOffer).where(WaitingListOffer.entry_id == entry.id))
    offer.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()

    action = "/staff/console/waiting-list/{}/accept".format(entry.id)
    assert client.post(action, data={"csrf_token": _token(page, action)}).status_code == 302

    assert "This time is no longer held for the caller. Nothing was booked." in _record(client, caller)
    assert session.scalars(select(Appointment).where(Appointment.person_id == caller.id)).all() == []
    assert _entries(session, caller)[0].status == "waiting"


def test_an_operator_takes_a_caller_off_the_list_and_the_time_held_for_them_goes_to_the_next(
    app, client: FlaskClient, session: Session, agency: Agency, full_agency, caller: Person, operator  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    entry = _join(app, session, agency, caller, minutes_ago=10)
    ada = _someone(session, "Ada", "+393330000001")
    _join(app, session, agency, ada)
    _free_a_time(app, session, full_agency)
    page = _record(client, caller)
    action = "/staff/console/waiting-list/{}/leave".format(entry.id)

    response = client.post(action, data={"csrf_token": _token(page, action)})

    assert response.status_code == 302
    assert _entries(session, caller)[0].status == "left"
    [ada_entry] = _entries(session, ada)
    assert session.scalar(select(WaitingListOffer).where(
        WaitingListOffer.entry_id == ada_entry.id, WaitingListOffer.status == "held")) is not None
    after = _record(client, caller, "?service=colloquio")
    assert "The caller was removed from the waiting list." in after
    assert "<caption>Waiting list</caption>" not in after and "Add to the waiting list" in after


def test_a_caller_who_may_not_receive_messages_gets_a_warning_and_no_place_in_line(
    app, client: FlaskClient, session: Session, full_agency, caller: Person, operator  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    caller.safe_to_contact = False
    session.commit()
    page = _record(client, caller, "?service=colloquio")
    action = "/staff/console/people/{}/waiting-list".format(caller.id)

    response = client.post(action, data={"csrf_token": _token(page, action), "service": "colloquio"})

    assert response.status_code == 302
    assert ("This caller may not receive messages, so a freed time could not be offered to them."
            in _record(client, caller))
    assert _entries(session, caller) == []


def test_the_staff_page_shows_each_line_in_order_with_held_offers_and_who_left(
    app, client: FlaskClient, session: Session, agency: Agency, full_agency, caller: Person, operator  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    ada, bea, carlo = (_someone(session, name, "+39333000000{}".format(n)) for n, name in enumerate(("Ada", "Bea", "Carlo")))
    _join(app, session, agency, bea, minutes_ago=30)
    _join(app, session, agency, ada, minutes_ago=20)
    left = _join(app, session, agency, carlo, minutes_ago=10)
    waiting.leave(session, left, now=utcnow(), policy=_policy(app))
    other = make_service(session, "alloggio")
    waiting.join(session, caller, other, now=utcnow(), policy=_policy(app))
    session.commit()
    _free_a_time(app, session, full_agency)  # held for Bea, the first in line

    page = client.get("/staff/waiting-list").get_data(as_text=True)

    line = page[page.find("Waiting for “colloquio”"):page.find("Waiting for “alloggio”")]
    assert line.find("Bea Esposito") < line.find("Ada Esposito") and "Carlo" not in line
    assert "Held until" in line and 'href="/staff/console/people/{}"'.format(ada.id) in line
    assert "Maria Rossi" in page and "Left the list" in page[page.find("No longer waiting"):]

    only = client.get("/staff/waiting-list?service=alloggio").get_data(as_text=True)
    assert "Maria Rossi" in only and "Ada Esposito" not in only


def test_the_staff_page_needs_a_sign_in_and_a_console_role(
    client: FlaskClient, create_staff  # type: ignore[no-untyped-def]
) -> None:
    response = client.get("/staff/waiting-list")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]

    create_staff(email="cw@example.org", roles=("caseworker",))
    sign_in(client, "cw@example.org")
    assert client.get("/staff/waiting-list").status_code == 403
    assert "/staff/waiting-list" not in client.get("/staff/").get_data(as_text=True)


def test_an_operator_finds_the_page_from_the_staff_home_and_an_empty_line_says_so(
    client: FlaskClient, operator  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    assert 'href="/staff/waiting-list"' in client.get("/staff/").get_data(as_text=True)
    assert "Nobody is on the waiting list." in client.get("/staff/waiting-list").get_data(as_text=True)


def test_every_waiting_list_button_needs_its_csrf_token(
    app, client: FlaskClient, session: Session, agency: Agency, full_agency, caller: Person, operator  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    entry = _join(app, session, agency, caller)
    _free_a_time(app, session, full_agency)
    someone = _someone(session, "Ada", "+393330000001")

    assert client.post("/staff/console/people/{}/waiting-list".format(someone.id), data={"service": "colloquio"}).status_code == 400
    assert client.post("/staff/console/waiting-list/{}/accept".format(entry.id)).status_code == 400
    assert client.post("/staff/console/waiting-list/{}/leave".format(entry.id)).status_code == 400
    assert _entries(session, someone) == [] and _entries(session, caller)[0].status == "waiting"
    assert session.scalars(select(Appointment).where(Appointment.person_id == caller.id)).all() == []
