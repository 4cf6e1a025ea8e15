"""The staff calendar: who may open it, what a day and a week show, printing, and marking
appointments attended or missed, with the follow-up a no-show starts."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.models import Message
from portal.agency.models import Office
from portal.appointments import staff as calendar
from portal.appointments.models import Appointment
from portal.auth.access import access_of
from portal.auth.models import StaffMember
from portal.people.models import Person
from support import sign_in
from test_booking import person
from test_booking_pages import book_from_scratch, open_every_day, the_appointment  # noqa: F401
from test_slots import ROME, Agency, agency, local  # noqa: F401

#: Monday 6 July 2026, 10:00 in Rome: the clock the views read in these tests.
NOW = local(2026, 7, 6, 10).astimezone(timezone.utc)
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def appointment(
    session: Session, who: Person, office: Office, staff_member: StaffMember, service_id: int, start: datetime,
    status: str = "booked", reason: str | None = None,
) -> Appointment:
    """A row as booking would leave it, at any time (booking itself refuses the past)."""
    row = Appointment(
        person_id=who.id, service_id=service_id, office_id=office.id, mode="in_person", staff_id=staff_member.id,
        starts_at=start.astimezone(timezone.utc), ends_at=(start + timedelta(minutes=30)).astimezone(timezone.utc),
        status=status, channel="phone", created_at=NOW, updated_at=NOW, revision=0,
        manage_token=secrets.token_urlsafe(24), reason=reason,
    )
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(calendar, "utcnow", lambda: NOW)
    return NOW


@pytest.fixture
def desk(client: FlaskClient, create_staff, clock: datetime):  # type: ignore[no-untyped-def]
    member = create_staff(email="desk@example.org", roles=("operator",), full_name="Front Desk")
    sign_in(client, "desk@example.org")
    client.get("/?lang=en")
    return member


@pytest.fixture
def no_shows() -> Iterator[list[tuple[int, Any]]]:
    """(appointment id, keyword arguments) of every ``appointment_no_show`` sent."""
    seen: list[tuple[int, Any]] = []

    def receive(sender: Appointment, **kwargs: Any) -> None:
        seen.append((sender.id, kwargs))

    calendar.appointment_no_show.connect(receive)
    yield seen
    calendar.appointment_no_show.disconnect(receive)


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def test_the_calendar_is_closed_to_anyone_not_signed_in_and_open_to_every_staff_role(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/staff/calendar/").status_code in (302, 401)
    assert client.get("/staff/calendar/week?print=1").status_code in (302, 401)
    assert client.post("/staff/calendar/appointments/1/attended").status_code in (302, 400, 401)
    for name in ("calendar.day", "calendar.week", "calendar.mark_outcome"):
        assert access_of(app.view_functions[name]) == frozenset({"operator", "caseworker", "coordinator", "admin"})


def test_a_caseworker_finds_the_calendar_from_the_staff_home(client: FlaskClient, create_staff, clock: datetime) -> None:  # type: ignore[no-untyped-def]
    create_staff(email="case@example.org", roles=("caseworker",))
    sign_in(client, "case@example.org")
    client.get("/?lang=en")
    assert "/staff/calendar/" in page(client, "/staff/")
    assert "No appointments." in page(client, "/staff/calendar/")


def test_the_day_view_lists_the_local_day_per_office_and_per_staff_member(
    client: FlaskClient, session: Session, agency: Agency, desk: StaffMember  # noqa: F811
) -> None:
    maria, luca = person(session, first_name="Maria"), person(session, first_name="Luca", phone="+393330000001")
    service = agency.service.id
    appointment(session, maria, agency.centro, agency.anna, service, local(2026, 7, 7, 9), reason="The rent went up")
    appointment(session, luca, agency.nord, agency.bruno, service, local(2026, 7, 7, 11))
    appointment(session, luca, agency.centro, agency.anna, service, local(2026, 7, 8, 0, 30))  # 22:30 UTC on the 7th
    appointment(session, luca, agency.centro, agency.anna, service, local(2026, 7, 7, 10), status="cancelled")

    everyone = page(client, "/staff/calendar/?day=2026-07-07")
    assert "Maria" in everyone and "Luca" in everyone and "The rent went up" in everyone
    assert "09:00" in everyone and "11:00" in everyone
    assert "00:30" not in everyone  # the 8th in Rome, whatever UTC says
    assert "10:00" not in everyone  # cancelled

    centro = page(client, "/staff/calendar/?day=2026-07-07&office={}".format(agency.centro.id))
    assert "Maria" in centro and "Luca" not in centro
    bruno = page(client, "/staff/calendar/?day=2026-07-07&staff={}".format(agency.bruno.id))
    assert "Luca" in bruno and "Maria" not in bruno

    next_day = page(client, "/staff/calendar/?day=2026-07-08")
    assert "00:30" in next_day and "Maria" not in next_day


def test_the_week_view_runs_monday_to_sunday_of_the_chosen_day(
    client: FlaskClient, session: Session, agency: Agency, desk: StaffMember  # noqa: F811
) -> None:
    maria = person(session, first_name="Maria")
    appointment(session, maria, agency.centro, agency.anna, agency.service.id, local(2026, 7, 6, 9))  # Monday
    appointment(session, maria, agency.centro, agency.anna, agency.service.id, local(2026, 7, 12, 23, 30))  # Sunday
    appointment(session, maria, agency.centro, agency.anna, agency.service.id, local(2026, 7, 13, 9, 30))  # next Monday

    week = page(client, "/staff/calendar/week?day=2026-07-09&office={}".format(agency.centro.id))
    assert "Monday, July 6, 2026" in week and "Sunday, July 12, 2026" in week
    assert "<td>09:00" in week and "<td>23:30" in week and "<td>09:30" not in week


def test_the_print_view_has_the_appointments_without_navigation_or_buttons(
    client: FlaskClient, session: Session, agency: Agency, desk: StaffMember  # noqa: F811
) -> None:
    maria = person(session, first_name="Maria")
    appointment(session, maria, agency.centro, agency.anna, agency.service.id, local(2026, 7, 6, 9))

    screen = page(client, "/staff/calendar/?day=2026-07-06")
    assert "Print view" in screen and "Attended" in screen
    printed = page(client, "/staff/calendar/?day=2026-07-06&print=1")
    assert "Maria" in printed and "09:00" in printed and "@page" in printed
    assert "<form" not in printed and "breadcrumb" not in printed and "Sign out" not in printed


def test_an_appointment_can_be_marked_only_once_it_has_started(
    client: FlaskClient, session: Session, agency: Agency, desk: StaffMember, no_shows: list  # noqa: F811
) -> None:
    maria = person(session, first_name="Maria")
    started = appointment(session, maria, agency.centro, agency.anna, agency.service.id, local(2026, 7, 6, 9, 30))
    later = appointment(session, maria, agency.centro, agency.anna, agency.service.id, local(2026, 7, 6, 11))
    html = page(client, "/staff/calendar/?day=2026-07-06")
    assert "/appointments/{}/attended".format(started.id) in html
    assert "/appointments/{}/attended".format(later.id) not in html  # no button before the start

    refused = client.post("/staff/calendar/appointments/{}/no_show".format(later.id),
                          data={"csrf_token": token(html)}, follow_redirects=True)
    assert "it has not started" in refused.get_data(as_text=True)
    done = client.post("/staff/calendar/appointments/{}/attended".format(started.id),
                       data={"csrf_token": token(html), "back": "/staff/calendar/?day=2026-07-06"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/staff/calendar/?day=2026-07-06")

    session.expire_all()
    assert session.get(Appointment, later.id).status == "booked"
    assert session.get(Appointment, started.id).status == "attended"
    assert no_shows == []
    again = client.post("/staff/calendar/appointments/{}/no_show".format(started.id),
                        data={"csrf_token": token(html)}, follow_redirects=True)
    assert "it is not booked" in again.get_data(as_text=True)
    session.expire_all()
    assert session.get(Appointment, started.id).status == "attended"


def test_marking_without_the_csrf_token_changes_nothing(
    client: FlaskClient, session: Session, agency: Agency, desk: StaffMember  # noqa: F811
) -> None:
    started = appointment(session, person(session), agency.centro, agency.anna, agency.service.id, local(2026, 7, 6, 9))
    assert client.post("/staff/calendar/appointments/{}/attended".format(started.id)).status_code == 400
    session.expire_all()
    assert session.get(Appointment, started.id).status == "booked"


def _followups(session: Session) -> list[Message]:
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.kind == "no_show_followup")))


def test_a_no_show_sends_the_signal_and_the_message_only_when_chosen(
    client: FlaskClient, session: Session, agency: Agency, desk: StaffMember, no_shows: list  # noqa: F811
) -> None:
    maria = person(session, first_name="Maria")
    luca = person(session, first_name="Luca", phone="+393330000001")
    quiet = appointment(session, luca, agency.centro, agency.anna, agency.service.id, local(2026, 7, 6, 9))
    followed = appointment(session, maria, agency.centro, agency.anna, agency.service.id, local(2026, 7, 6, 9, 30))
    html = page(client, "/staff/calendar/?day=2026-07-06")

    client.post("/staff/calendar/appointments/{}/no_show".format(quiet.id), data={"csrf_token": token(html)})
    assert _followups(session) == []
    client.post("/staff/calendar/appointments/{}/no_show".format(followed.id),
                data={"csrf_token": token(html), "follow_up": "1"})

    messages = _followups(session)
    assert [m.idempotency_key for m in messages] == ["appointment:{}:no_show".format(followed.id)]
    assert messages[0].subject_key == "appointment:{}".format(followed.id)
    assert [sent for sent, _ in no_shows] == [quiet.id, followed.id]
    assert all(kwargs["now"] == NOW for _, kwargs in no_shows)
    assert session.get(Appointment, followed.id).status == "no_show"
    assert "Did not come" in page(client, "/staff/calendar/?day=2026-07-06")


def test_the_reason_a_citizen_writes_when_booking_reaches_the_calendar(
    client: FlaskClient, session: Session, open_every_day: Agency, create_staff  # noqa: F811
) -> None:
    booked = the_appointment(session, book_from_scratch(client))
    assert booked.reason == "The rent went up"
    create_staff(email="case@example.org", roles=("caseworker",))
    sign_in(client, "case@example.org")
    day = booked.starts_at.astimezone(ROME).date().isoformat()
    assert "The rent went up" in page(client, "/staff/calendar/?day={}&staff={}".format(day, booked.staff_id))
