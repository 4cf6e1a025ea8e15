"""The citizen's booking pages and the manage link, through the test client, on both databases.

The agency is the one of ``test_slots.py``: Anna receives at *centro* every day from
09:00 to 13:00, so whatever day the tests run there are free times after the 24 hours'
notice. The pages run on the real clock; a test that needs another moment moves the
views' clock.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import icalendar
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from messaging.models import Message
from portal.agency.models import Service
from portal.appointments import manage_views
from portal.appointments.models import Appointment
from portal.appointments.policy import BookingPolicy
from portal.appointments.services import book
from portal.appointments.slots import Slot, encode_slot, find_slots
from portal.db import utcnow
from portal.intake.models import Intake
from portal.people.models import Person
from portal.people.services import new_person
from test_intake_wizard import JOURNEY, SECTIONS, page_text, post_step, start_intake, token_of
from test_slots import EVERY_DAY, ROME, Agency, agency, make_service, plan  # noqa: F401

DETAILS = {
    "reason": "The rent went up",
    "first_name": "Ada",
    "last_name": "Rossi",
    "phone": "333 765 4321",
    "email": "",
    "language": "en",
    "channel": "sms",
}
SLOT_RE = re.compile(r'name="slot" id="slot-\d+" value="([^"]+)"')


@pytest.fixture
def open_every_day(session: Session, agency: Agency) -> Agency:
    """Anna at centro every day, 09:00–13:00, in person and by phone; the service has texts."""
    agency.service.name = {"it": "Primo colloquio", "en": "First interview"}
    agency.service.description = {"it": "Un primo incontro.", "en": "A first meeting to understand your situation."}
    agency.centro.accessibility_notes = {"it": "Ingresso senza gradini.", "en": "Step-free entrance."}
    agency.centro.map_url = "https://www.openstreetmap.org/search?query=Via%20Roma%2010"
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "13:00")
    session.commit()
    return agency


def rules(app: Any) -> BookingPolicy:
    return BookingPolicy.from_config(app.config["PORTA"])


def slots_on_page(page: str) -> list[str]:
    return SLOT_RE.findall(page)


def choose(client: FlaskClient, **changes: str) -> Any:
    """Step 1 in English, as a person would fill it in."""
    token = token_of(client.get("/appointments/book?lang=en"))
    data = {"csrf_token": token, "service": "colloquio", "office": "centro", "mode": "in_person", "language": "it"}
    return client.post("/appointments/book", data={**data, **changes})


def pick_slot(client: FlaskClient, index: int = 0) -> str:
    page = client.get("/appointments/book/slot")
    chosen = slots_on_page(page.get_data(as_text=True))[index]
    response = client.post("/appointments/book/slot", data={"csrf_token": token_of(page), "slot": chosen, "action": "next"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/appointments/book/details")
    return chosen


def fill_details(client: FlaskClient, **changes: str) -> Any:
    page = client.get("/appointments/book/details")
    return client.post("/appointments/book/details", data={"csrf_token": token_of(page), **DETAILS, **changes})


def confirm(client: FlaskClient) -> Any:
    review = client.get("/appointments/book/review")
    assert review.status_code == 200
    return client.post("/appointments/book/confirm", data={"csrf_token": token_of(review)})


def book_from_scratch(client: FlaskClient, slot_index: int = 0) -> str:
    """The whole journey; returns the manage token the person lands on."""
    assert choose(client).status_code == 302
    pick_slot(client, slot_index)
    assert fill_details(client).headers["Location"].endswith("/appointments/book/review")
    response = confirm(client)
    assert response.status_code == 302, page_text(response)[:2000]
    return response.headers["Location"].rsplit("/", 1)[-1]


def the_appointment(session: Session, token: str) -> Appointment:
    session.expire_all()
    return session.scalars(select(Appointment).where(Appointment.manage_token == token)).one()


def messages(session: Session, appointment: Appointment) -> dict[str, tuple[str, str]]:
    session.expire_all()
    rows = session.scalars(select(Message).where(Message.subject_key == appointment.subject_key))
    return {m.idempotency_key: (m.kind, m.status) for m in rows}


# --- booking ------------------------------------------------------------------------------------


def test_a_person_books_from_scratch_and_their_appointment_page_says_what_when_and_where(
    client: FlaskClient, session: Session, open_every_day: Agency
) -> None:
    token = book_from_scratch(client, slot_index=-1)

    appointment = the_appointment(session, token)
    person = session.get(Person, appointment.person_id)
    assert (person.first_name, person.last_name, person.phone, person.language) == ("Ada", "Rossi", "+393337654321", "en")
    assert (appointment.status, appointment.channel, appointment.office_id) == ("booked", "web", open_every_day.centro.id)
    page = page_text(client.get("/appointments/{}".format(token)))
    assert "Your appointment is booked" in page
    assert "First interview" in page and "A first meeting to understand your situation." in page
    local = appointment.starts_at.astimezone(ROME)
    assert local.strftime("%H:%M") in page and str(local.day) in page and local.strftime("%B") in page
    assert "Via Roma 10, 59100 Prato" in page and "Step-free entrance." in page
    assert 'href="https://www.openstreetmap.org/search?query=Via%20Roma%2010"' in page
    assert "An identity document or residence permit" in page
    assert 'href="/appointments/{}/calendar.ics"'.format(token) in page
    kinds = sorted(kind for kind, status in messages(session, appointment).values() if status == "pending")
    assert kinds[0] == "appointment_confirmation" and kinds[1:] and set(kinds[1:]) == {"appointment_reminder"}


def test_no_personal_detail_or_slot_ever_appears_in_an_address(client: FlaskClient, open_every_day: Agency) -> None:
    choose(client)
    slot_id = pick_slot(client)
    response = fill_details(client)
    locations = [response.headers["Location"], confirm(client).headers["Location"]]
    assert not any(text in location for location in locations for text in ("Rossi", "3337654321", slot_id))


def test_coming_from_a_self_screening_the_service_and_language_are_chosen_and_the_details_filled_in(
    client: FlaskClient, session: Session, open_every_day: Agency
) -> None:
    token = start_intake(client, "en")
    for section in SECTIONS:
        answers = dict(JOURNEY[section], **({"contact.language": "en"} if section == "contact" else {}))
        assert post_step(client, token, section, answers).status_code == 302
    assert client.post("/intake/submit", data={"csrf_token": token}).status_code == 302
    intake = session.scalars(select(Intake).order_by(Intake.id.desc())).first()
    recommended = make_service(session, code=intake.recommended_service, modes=["in_person"])
    recommended.name = {"en": "Recommended service"}
    open_every_day.centro.services.append(recommended)
    session.commit()
    assert 'href="/appointments/book" data-element="appointment-booking"' in page_text(client.get("/intake/result"))

    step = page_text(client.get("/appointments/book"))
    assert re.search(r'name="service" id="[^"]+" value="{}" checked'.format(intake.recommended_service), step)
    assert re.search(r'<option value="en" lang="en" selected>', step)
    data = {"csrf_token": token, "service": intake.recommended_service, "office": "centro", "mode": "in_person", "language": "en"}
    assert client.post("/appointments/book", data=data).status_code == 302
    pick_slot(client)
    details = page_text(client.get("/appointments/book/details"))
    assert 'value="Maria"' in details and 'value="Rossi"' in details and 'value="+393331234567"' in details
    people_before = session.scalar(select(func.count()).select_from(Person))
    response = client.post("/appointments/book/details", data={
        "csrf_token": token, "reason": "", "first_name": "Maria", "last_name": "Rossi", "phone": "+393331234567",
        "email": "", "language": "en", "channel": "sms", "action": "next"})
    assert response.status_code == 302
    manage = confirm(client).headers["Location"].rsplit("/", 1)[-1]

    appointment = the_appointment(session, manage)
    assert (appointment.intake_id, appointment.person_id) == (intake.id, intake.person_id)
    assert session.get(Service, appointment.service_id).code == intake.recommended_service
    assert session.scalar(select(func.count()).select_from(Person)) == people_before


def test_the_calendar_file_starts_at_the_booked_time_on_the_office_clock(
    client: FlaskClient, session: Session, open_every_day: Agency
) -> None:
    choose(client)
    page = page_text(client.get("/appointments/book/slot"))
    shown = re.search(r'id="slot-1" value="[^"]+">\s*<label for="slot-1"><bdi>([0-9:]+)', page).group(1)
    pick_slot(client, 0)
    fill_details(client)
    token = confirm(client).headers["Location"].rsplit("/", 1)[-1]

    response = client.get("/appointments/{}/calendar.ics".format(token))
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    event = icalendar.Calendar.from_ical(response.data).walk("VEVENT")[0]
    start = event.decoded("dtstart")
    assert start == the_appointment(session, token).starts_at
    assert start.astimezone(ROME).strftime("%H:%M") == shown.zfill(5)
    assert 9 <= start.astimezone(ROME).hour < 13


def test_the_loser_of_the_last_place_is_told_kindly_sees_other_times_and_keeps_their_details(
    app: Any, client: FlaskClient, session: Session, open_every_day: Agency
) -> None:
    choose(client)
    taken = pick_slot(client)
    fill_details(client)
    review = client.get("/appointments/book/review")
    someone = new_person(utcnow())
    someone.first_name, someone.last_name, someone.phone = "Other", "Person", "+393330000001"
    session.add(someone)
    book(session, taken, someone, now=utcnow(), policy=rules(app))  # quicker, between review and confirm
    session.commit()

    response = client.post("/appointments/book/confirm", data={"csrf_token": token_of(review)})
    page = page_text(response)
    assert response.status_code == 409
    assert "someone booked that time just before you" in page
    fresh = slots_on_page(page)
    assert fresh and taken not in fresh
    assert session.scalar(select(func.count()).select_from(Appointment)) == 1
    # Choosing another time leads straight back to the details, still filled in, then the review.
    client.post("/appointments/book/slot", data={"csrf_token": token_of(review), "slot": fresh[0], "action": "next"})
    assert 'value="Ada"' in page_text(client.get("/appointments/book/details"))
    assert "Ada Rossi" in page_text(client.get("/appointments/book/review"))
    assert confirm(client).status_code == 302
    assert session.scalar(select(func.count()).select_from(Appointment)) == 2


# --- the manage link --------------------------------------------------------------------------------


def test_cancelling_by_link_asks_first_then_frees_the_time_and_stops_the_reminders(
    app: Any, client: FlaskClient, session: Session, open_every_day: Agency
) -> None:
    token = book_from_scratch(client, slot_index=-1)
    appointment = the_appointment(session, token)
    csrf = token_of(client.get("/appointments/{}".format(token)))

    asked = client.post("/appointments/{}/cancel".format(token), data={"csrf_token": csrf})
    assert asked.status_code == 200 and "Cancel the appointment?" in page_text(asked)
    assert the_appointment(session, token).status == "booked"

    done = client.post("/appointments/{}/cancel".format(token), data={"csrf_token": csrf, "confirm": "yes"})
    assert done.status_code == 302
    assert the_appointment(session, token).status == "cancelled"
    assert "This appointment has been cancelled." in page_text(client.get("/appointments/{}".format(token)))
    statuses = messages(session, appointment)
    assert {status for kind, status in statuses.values() if kind == "appointment_reminder"} == {"cancelled"}
    assert ("appointment_cancelled", "pending") in statuses.values()
    free = find_slots(session, rules(app), open_every_day.service, utcnow(), limit=500)
    assert appointment.starts_at in {slot.start for slot in free}


def test_changing_the_date_by_link_moves_the_appointment_and_its_reminders(
    client: FlaskClient, session: Session, open_every_day: Agency
) -> None:
    token = book_from_scratch(client, slot_index=0)
    before = the_appointment(session, token)
    old_start = before.starts_at
    csrf = token_of(client.get("/appointments/{}".format(token)))

    listed = client.post("/appointments/{}/reschedule".format(token), data={"csrf_token": csrf})
    assert listed.status_code == 200
    new_slot = slots_on_page(page_text(listed))[-1]
    moved = client.post("/appointments/{}/reschedule".format(token), data={"csrf_token": csrf, "slot": new_slot, "action": "move"})
    assert moved.status_code == 302

    after = the_appointment(session, token)
    assert after.starts_at != old_start and after.revision == 1 and after.status == "booked"
    keys = messages(session, after)
    assert keys["appointment:{}:r1:rescheduled".format(after.id)] == ("appointment_rescheduled", "pending")
    old = [status for key, (kind, status) in keys.items() if ":r1:" not in key]
    assert old and set(old) == {"cancelled"}
    assert "Your appointment has been moved." in page_text(client.get("/appointments/{}".format(token)))


def test_a_tampered_or_expired_link_opens_nothing_and_changes_nothing(
    client: FlaskClient, session: Session, open_every_day: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = book_from_scratch(client)
    csrf = token_of(client.get("/appointments/{}".format(token)))
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    for url in ("/appointments/{}", "/appointments/{}/calendar.ics"):
        response = client.get(url.format(tampered))
        assert response.status_code == 404 and "This link does not work" in page_text(response)
    response = client.post("/appointments/{}/cancel".format(tampered), data={"csrf_token": csrf, "confirm": "yes"})
    assert response.status_code == 404

    appointment = the_appointment(session, token)
    later = appointment.ends_at + timedelta(days=8)
    monkeypatch.setattr(manage_views, "utcnow", lambda: later)
    expired = client.get("/appointments/{}".format(token))
    assert expired.status_code == 410 and "This link has expired" in page_text(expired)
    response = client.post("/appointments/{}/cancel".format(token), data={"csrf_token": csrf, "confirm": "yes"})
    assert response.status_code == 410
    assert the_appointment(session, token).status == "booked"


def test_every_form_needs_its_csrf_token(client: FlaskClient, session: Session, open_every_day: Agency) -> None:
    token = book_from_scratch(client)
    for url, data in (
        ("/appointments/book", {"service": "colloquio", "office": "centro", "mode": "in_person", "language": "it"}),
        ("/appointments/book/confirm", {}),
        ("/appointments/{}/cancel".format(token), {"confirm": "yes"}),
        ("/appointments/{}/reschedule".format(token), {"action": "move"}),
    ):
        assert client.post(url, data=data).status_code == 400, url
    assert the_appointment(session, token).status == "booked"
    assert session.scalar(select(func.count()).select_from(Appointment)) == 1


# --- errors keep what was typed -----------------------------------------------------------------------


def test_an_office_that_does_not_offer_the_service_is_explained_and_the_choices_are_kept(
    client: FlaskClient, session: Session, open_every_day: Agency
) -> None:
    only_centro = make_service(session, code="sportello", modes=["in_person"])
    only_centro.name = {"en": "Front desk"}
    open_every_day.centro.services.append(only_centro)
    session.commit()
    response = choose(client, service="sportello", office="nord", language="zh")
    page = page_text(response)
    assert response.status_code == 400
    assert "This office does not offer the service you chose" in page
    assert 'href="#f-office"' in page  # in the summary, linked to the field
    assert re.search(r'value="sportello" checked', page) and re.search(r'value="nord" checked', page)
    assert '<option value="zh" lang="zh" selected>' in page


def test_wrong_details_are_explained_next_to_their_field_and_everything_typed_is_kept(
    client: FlaskClient, open_every_day: Agency
) -> None:
    choose(client)
    pick_slot(client)
    response = fill_details(client, phone="12ab", email="not-an-address", first_name="")
    page = page_text(response)
    assert response.status_code == 400
    assert "Not a valid phone number" in page and "Enter a valid e-mail address." in page and "Enter your first name." in page
    assert 'id="e-phone"' in page and 'href="#f-phone"' in page
    assert 'value="12ab"' in page and 'value="not-an-address"' in page and "The rent went up" in page
    # Back keeps what was typed, even when it is wrong, for when the person comes forward again.
    client.post("/appointments/book/details", data={"csrf_token": token_of(response), **DETAILS, "phone": "12ab", "action": "back"})
    assert 'value="12ab"' in page_text(client.get("/appointments/book/details"))
    assert client.get("/appointments/book/review").headers["Location"].endswith("/appointments/book/details")


def test_back_from_the_times_keeps_the_choices_of_the_first_step(client: FlaskClient, open_every_day: Agency) -> None:
    choose(client, office="centro", mode="phone_call")
    page = client.get("/appointments/book/slot")
    back = client.post("/appointments/book/slot", data={"csrf_token": token_of(page), "action": "back"})
    assert back.headers["Location"].endswith("/appointments/book")
    first = page_text(client.get("/appointments/book"))
    assert re.search(r'value="centro" checked', first) and re.search(r'value="phone_call" checked', first)


def test_a_time_not_chosen_forged_past_or_a_date_that_does_not_exist_is_explained_and_nothing_is_booked(
    app: Any, client: FlaskClient, session: Session, open_every_day: Agency
) -> None:
    choose(client)
    page = client.get("/appointments/book/slot")
    csrf = token_of(page)
    nothing = client.post("/appointments/book/slot", data={"csrf_token": csrf, "action": "next"})
    assert nothing.status_code == 400 and "Choose a date and time." in page_text(nothing)
    forged = client.post("/appointments/book/slot", data={"csrf_token": csrf, "slot": "x" + slots_on_page(page.get_data(as_text=True))[0]})
    assert forged.status_code == 400 and "Choose one of the times shown." in page_text(forged)
    yesterday = (utcnow() - timedelta(days=1)).astimezone(ROME).replace(hour=9, minute=0, second=0, microsecond=0)
    past = encode_slot(Slot(open_every_day.service.id, open_every_day.centro.id, "in_person", open_every_day.anna.id,
                            yesterday, yesterday + timedelta(minutes=30)), rules(app).secret_key)
    response = client.post("/appointments/book/slot", data={"csrf_token": csrf, "slot": past, "action": "next"})
    assert response.status_code == 400 and "That time can no longer be booked" in page_text(response)

    no_such_day = client.get("/appointments/book/slot?after=2026-02-30")
    assert no_such_day.status_code == 400 and "That date does not exist" in page_text(no_such_day)
    assert slots_on_page(no_such_day.get_data(as_text=True))
    assert session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_later_dates_show_times_after_the_first_page(client: FlaskClient, open_every_day: Agency) -> None:
    choose(client)
    first = page_text(client.get("/appointments/book/slot"))
    later = re.search(r'href="(/appointments/book/slot\?after=[0-9-]+)"', first).group(1)
    second = page_text(client.get(later))
    assert slots_on_page(second) and not set(slots_on_page(second)) & set(slots_on_page(first))


def test_the_booking_starts_from_the_home_page(client: FlaskClient, open_every_day: Agency) -> None:
    home = page_text(client.get("/"))
    assert 'href="/appointments/book" data-element="appointment-booking"' in home


def test_booking_posts_from_one_address_are_refused_after_a_burst(client: FlaskClient, open_every_day: Agency) -> None:
    csrf = token_of(client.get("/appointments/book"))
    answers = [client.post("/appointments/book/confirm", data={"csrf_token": csrf}).status_code for _ in range(11)]
    assert answers[:10] == [302] * 10 and answers[10] == 429
