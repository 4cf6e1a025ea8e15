"""The waiting list in the citizen's pages: joining when nothing is free soon, accepting, leaving."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.models import Message
from portal.appointments import services
from portal.appointments.models import Appointment, PlanException, WaitingListEntry
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import encode_slot, find_slots
from portal.db import utcnow
from portal.people.services import new_person
from test_booking_pages import choose, fill_details, rules, slots_on_page
from test_intake_wizard import page_text, token_of
from test_slots import ROME, Agency, agency  # noqa: F401


def _extra_day(session: Session, agency: Agency, day: date) -> None:  # noqa: F811
    session.add(PlanException(staff_id=agency.anna.id, kind="extra", first_day=day, last_day=day,
                              starts=time(9), ends=time(10),
                              office_id=agency.centro.id, modes=["in_person"]))
    session.commit()


@pytest.fixture
def far_only(session: Session, agency: Agency) -> Agency:  # noqa: F811
    """Anna receives only on one morning three weeks from now: beyond the 14 days' window."""
    agency.service.name = {"it": "Primo colloquio", "en": "First interview"}
    _extra_day(session, agency, utcnow().astimezone(ROME).date() + timedelta(days=21))
    return agency


def _join(client: FlaskClient) -> str:
    """From the slot page to the place in line; returns the waiting page's address."""
    assert choose(client).status_code == 302
    page = client.get("/appointments/book/slot")
    text = page_text(page)
    assert "Nothing free soon enough?" in text and "There is no free time in the next 14 days." in text
    assert len(slots_on_page(page.get_data(as_text=True))) == 2  # the far times can still be booked
    response = client.post("/appointments/book/slot", data={"csrf_token": token_of(page), "action": "wait"})
    assert response.headers["Location"].endswith("/appointments/book/details")
    assert fill_details(client).headers["Location"].endswith("/appointments/book/review")
    review = client.get("/appointments/book/review")
    assert "The first time that becomes free, from the waiting list" in page_text(review)
    response = client.post("/appointments/book/confirm", data={"csrf_token": token_of(review)})
    assert response.status_code == 302 and "/appointments/waiting/" in response.headers["Location"]
    return response.headers["Location"]


def test_with_nothing_free_soon_a_person_joins_the_waiting_list_and_sees_their_place(
    client: FlaskClient, session: Session, far_only: Agency
) -> None:
    place = _join(client)

    page = page_text(client.get(place))
    assert "You are on the waiting list" in page and "You are number 1 in line." in page
    entry = session.scalars(select(WaitingListEntry)).one()
    assert (entry.status, entry.office_id, entry.mode, entry.language, entry.reason) == (
        "waiting", far_only.centro.id, "in_person", None, "The rent went up")
    assert session.scalars(select(Appointment)).all() == []
    kinds = [m.kind for m in session.scalars(select(Message))]
    assert kinds == ["waiting_list_joined"]


def test_the_waiting_list_is_not_offered_when_a_time_is_free_within_the_window(
    client: FlaskClient, session: Session, agency: Agency  # noqa: F811
) -> None:
    _extra_day(session, agency, utcnow().astimezone(ROME).date() + timedelta(days=5))
    choose(client)
    page = page_text(client.get("/appointments/book/slot"))
    assert "Join the waiting list" not in page


def test_a_freed_time_is_offered_on_the_page_and_accepting_books_it(
    app, client: FlaskClient, session: Session, far_only: Agency  # type: ignore[no-untyped-def]
) -> None:
    soon = utcnow().astimezone(ROME).date() + timedelta(days=5)
    _extra_day(session, far_only, soon)
    policy: BookingPolicy = rules(app)
    someone = new_person(utcnow())
    session.add(someone)
    taken = [services.book(session, encode_slot(slot, policy.secret_key), someone, now=utcnow(), policy=policy)
             for slot in find_slots(session, policy, far_only.service, utcnow(), limit=2)]
    session.commit()
    assert [a.starts_at.astimezone(ROME).date() for a in taken] == [soon, soon]
    place = _join(client)
    assert "A time has become free for you" not in page_text(client.get(place))

    services.cancel(session, taken[1], now=utcnow(), policy=policy)  # the line hears of it at once
    session.commit()
    page = page_text(client.get(place))
    assert "A time has become free for you" in page and "Yes, book this time" in page
    assert "9:30" in page  # English short time of the freed 09:30

    response = client.post(place + "/accept", data={"csrf_token": token_of(client.get(place))})
    assert response.status_code == 302 and response.headers["Location"].startswith("/appointments/")
    booked = page_text(client.get(response.headers["Location"]))
    assert "Your appointment is booked" in booked
    session.expire_all()
    entry = session.scalars(select(WaitingListEntry)).one()
    assert entry.status == "booked" and entry.appointment_id is not None
    assert session.get(Appointment, entry.appointment_id).starts_at == taken[1].starts_at
    assert "You accepted a time offered from the waiting list." in page_text(client.get(place))


def test_leaving_asks_first_then_takes_the_person_out_of_line(
    client: FlaskClient, session: Session, far_only: Agency
) -> None:
    place = _join(client)
    ask = client.post(place + "/leave", data={"csrf_token": token_of(client.get(place))})
    assert "Are you sure? You lose your place in line." in page_text(ask)
    session.expire_all()
    assert session.scalars(select(WaitingListEntry)).one().status == "waiting"

    done = client.post(place + "/leave", data={"csrf_token": token_of(client.get(place)), "confirm": "yes"})
    assert done.status_code == 302
    assert "You have left the waiting list." in page_text(client.get(place))
    session.expire_all()
    assert session.scalars(select(WaitingListEntry)).one().status == "left"


def test_a_waiting_list_link_we_never_issued_opens_nothing_and_posts_need_the_csrf_token(
    client: FlaskClient, far_only: Agency
) -> None:
    assert client.get("/appointments/waiting/not-a-token").status_code == 404
    place = _join(client)
    assert client.post(place + "/leave", data={"confirm": "yes"}).status_code == 400


def test_with_no_free_time_at_all_joining_the_list_is_the_pages_main_action(
    client: FlaskClient, agency: Agency  # noqa: F811
) -> None:
    choose(client)
    page = client.get("/appointments/book/slot").get_data(as_text=True)
    assert 'value="wait" class="btn btn-primary"' in page
    assert 'value="next"' not in page  # nothing to choose, so no "Continue"
