"""The appointments API: what a partner's system sees when it books, reads and cancels."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from messaging.models import Message
from portal.api import services as api
from portal.appointments.models import Appointment
from portal.db import utcnow
from portal.intake import services as intakes
from portal.people.models import Person
from test_slots import EVERY_DAY, ROME, Agency, agency, plan  # noqa: F401

PROBLEM_JSON = "application/problem+json"
PERSON = {"first_name": "Ioana", "last_name": "Popescu", "phone": "+39 333 123 4567", "language": "ro", "channel": "sms"}
INTAKE_ANSWERS: dict[str, Any] = {
    "household.adults": 2,
    "household.minors": 1,
    "housing.situation": "private_rent",
    "housing.eviction": "none",
    "work.status": "unemployed",
    "residence.in_comune": True,
    "contact.first_name": "Amina",
    "contact.last_name": "Haddad",
    "contact.phone": "+393471234567",
    "contact.language": "ar",
    "contact.channel": "sms",
    "consent.privacy_acknowledged": True,
}


@pytest.fixture
def open_agency(session: Session, agency: Agency) -> Agency:  # noqa: F811
    """Anna receives every day at centro, 09:00–13:00, in person or by phone."""
    agency.service.name = {"it": "Primo colloquio", "en": "First interview"}
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "13:00")
    session.commit()
    return agency


def _token(session: Session, *scopes: str) -> dict[str, str]:
    _row, plaintext = api.create_token(session, "partner-{}".format(len(scopes)), scopes or ["appointments:write"], utcnow())
    session.commit()
    return {"Authorization": "Bearer " + plaintext}


@pytest.fixture
def auth(session: Session) -> dict[str, str]:
    return _token(session, "appointments:write")


def _problem(response, status: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = json.loads(response.get_data(as_text=True))
    assert body["status"] == status
    return body


def _slots(client: FlaskClient, auth: dict[str, str], query: str = "service=colloquio") -> list[dict[str, Any]]:
    response = client.get("/api/v1/slots?" + query, headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _stored(session: Session) -> tuple[int, int, int]:
    """Appointments, people and messages, as another transaction sees them."""
    session.expire_all()
    return (
        session.scalar(select(func.count(Appointment.id))) or 0,
        session.scalar(select(func.count(Person.id))) or 0,
        session.scalar(select(func.count(Message.id))) or 0,
    )


def _book(client: FlaskClient, auth: dict[str, str], body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/appointments", json=body, headers=auth)


# --- the contract ---------------------------------------------------------------------------------


def test_services_are_listed_with_their_name_in_the_asked_language(client: FlaskClient, auth, open_agency) -> None:  # type: ignore[no-untyped-def]
    italian = client.get("/api/v1/services", headers=auth).get_json()
    english = client.get("/api/v1/services", headers={**auth, "Accept-Language": "en"}).get_json()
    assert italian == [{"code": "colloquio", "name": "Primo colloquio", "duration_minutes": 30,
                        "modes": ["in_person", "phone_call"]}]
    assert english[0]["name"] == "First interview"


def test_slots_come_with_an_opaque_id_local_times_with_their_offset_office_and_mode(client: FlaskClient, auth, open_agency) -> None:  # type: ignore[no-untyped-def]
    found = _slots(client, auth)
    assert found, "a plan every day must leave free slots"
    first = found[0]
    assert set(first) == {"slot", "start", "end", "office", "mode"}
    start, end = datetime.fromisoformat(first["start"]), datetime.fromisoformat(first["end"])
    assert start.utcoffset() == start.astimezone(ROME).utcoffset()
    assert (start.astimezone(ROME).hour, end - start) == (9, timedelta(minutes=30))
    assert start - utcnow() >= timedelta(hours=24), "nothing sooner than the minimum notice"
    assert {s["office"] for s in found} == {"centro"}
    assert {s["mode"] for s in found} == {"in_person", "phone_call"}

    by_phone = _slots(client, auth, "service=colloquio&office=centro&mode=phone_call&days=3")
    assert by_phone and {s["mode"] for s in by_phone} == {"phone_call"}
    days = {datetime.fromisoformat(s["start"]).date() for s in by_phone}
    assert len(days) <= 3


@pytest.mark.parametrize("query, parameter", [
    ("service=unknown", "service"),
    ("office=centro", "service"),
    ("service=colloquio&office=altrove", "office"),
    ("service=colloquio&from=2026-02-30", "from"),
    ("service=colloquio&from=30/01/2026", "from"),
    ("service=colloquio&days=0", "days"),
    ("service=colloquio&language=xx", "language"),
])
def test_a_wrong_slot_query_is_a_422_naming_the_parameter(client: FlaskClient, auth, open_agency, query: str, parameter: str) -> None:  # type: ignore[no-untyped-def]
    problem = _problem(client.get("/api/v1/slots?" + query, headers=auth), 422)
    assert [error["parameter"] for error in problem["errors"]] == [parameter]
    assert all(error["detail"] for error in problem["errors"])


def test_an_office_that_does_not_offer_the_service_is_refused(client: FlaskClient, session: Session, auth, open_agency) -> None:  # type: ignore[no-untyped-def]
    open_agency.nord.services = []
    session.commit()
    problem = _problem(client.get("/api/v1/slots?service=colloquio&office=nord", headers=auth), 422)
    assert problem["errors"][0]["parameter"] == "office"


def test_booking_for_a_described_person_answers_the_contract_and_queues_the_messages(
    client: FlaskClient, session: Session, auth, open_agency  # type: ignore[no-untyped-def]
) -> None:
    chosen = _slots(client, auth)[0]
    response = _book(client, auth, {"slot": chosen["slot"], "person": PERSON})

    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert {"id", "start", "end", "office", "service", "status", "manage_url"} <= set(created)
    assert (created["start"], created["end"], created["office"]) == (chosen["start"], chosen["end"], "centro")
    assert (created["service"], created["status"], created["mode"]) == ("colloquio", "booked", chosen["mode"])
    assert response.headers["Location"] == "http://localhost/api/v1/appointments/{}".format(created["id"])
    appointment = session.get(Appointment, created["id"])
    assert created["manage_url"] == "http://localhost/appointments/" + appointment.manage_token
    assert appointment.channel == "api" and appointment.intake_id is None
    assert (appointment.person.last_name, appointment.person.phone, appointment.person.language) == (
        "Popescu", "+393331234567", "ro")
    kinds = {m.kind for m in session.scalars(select(Message).where(Message.subject_key == appointment.subject_key))}
    assert {"appointment_confirmation", "appointment_reminder"} <= kinds

    assert client.get("/api/v1/appointments/{}".format(created["id"]), headers=auth).get_json() == created
    assert chosen["start"] not in {s["start"] for s in _slots(client, auth) if s["mode"] == chosen["mode"]}


def test_booking_from_an_intake_books_for_its_person(client: FlaskClient, session: Session, auth, open_agency) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    intake = intakes.start(session, "web", "ar", now)
    intakes.save_answers(session, intake, INTAKE_ANSWERS, now)
    assert intakes.submit(session, intake, now, "2026-11", helpline="800 123 456", link="http://localhost/") == []
    session.commit()
    before = _stored(session)[1]

    response = _book(client, auth, {"slot": _slots(client, auth)[0]["slot"], "intake": intake.reference})

    assert response.status_code == 201, response.get_data(as_text=True)
    appointment = session.get(Appointment, response.get_json()["id"])
    assert appointment.intake_id == intake.id and appointment.person_id == intake.person_id
    assert _stored(session)[1] == before, "no new person: the intake's is used"


# --- who may -------------------------------------------------------------------------------------


def test_without_a_token_every_endpoint_is_a_401(client: FlaskClient) -> None:
    for method, url in (("get", "/api/v1/services"), ("get", "/api/v1/slots?service=x"), ("post", "/api/v1/appointments"),
                        ("get", "/api/v1/appointments/1"), ("delete", "/api/v1/appointments/1")):
        response = getattr(client, method)(url)
        _problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_without_the_appointments_scope_is_a_403_and_books_nothing(client: FlaskClient, session: Session, open_agency) -> None:  # type: ignore[no-untyped-def]
    reader = _token(session, "intakes:write", "intakes:read")
    writer = _token(session, "appointments:write")
    chosen = _slots(client, writer)[0]
    for method, url in (("get", "/api/v1/services"), ("get", "/api/v1/slots?service=colloquio"),
                        ("get", "/api/v1/appointments/1"), ("delete", "/api/v1/appointments/1")):
        assert "appointments:write" in _problem(getattr(client, method)(url, headers=reader), 403)["detail"]
    _problem(_book(client, reader, {"slot": chosen["slot"], "person": PERSON}), 403)
    assert _stored(session)[0] == 0


# --- refusals store nothing ----------------------------------------------------------------------


def test_booking_the_same_slot_twice_lets_only_the_first_win_and_offers_alternatives(
    client: FlaskClient, session: Session, auth, open_agency  # type: ignore[no-untyped-def]
) -> None:
    chosen = _slots(client, auth)[0]
    assert _book(client, auth, {"slot": chosen["slot"], "person": PERSON}).status_code == 201
    stored = _stored(session)

    problem = _problem(_book(client, auth, {"slot": chosen["slot"], "person": dict(PERSON, last_name="Ionescu")}), 409)

    assert _stored(session) == stored, "the loser's person and messages were not kept"
    alternatives = problem["alternatives"]
    assert alternatives and chosen["start"] not in {a["start"] for a in alternatives if a["mode"] == chosen["mode"]}
    assert all(a["mode"] == chosen["mode"] and a["office"] == "centro" for a in alternatives)
    assert _book(client, auth, {"slot": alternatives[0]["slot"], "person": PERSON}).status_code == 201


def _tampered(slot: str) -> str:
    return slot[:-3] + ("AAA" if not slot.endswith("AAA") else "BBB")


@pytest.mark.parametrize("change, member", [
    (lambda body: body.update(slot=_tampered(body["slot"])), "slot"),
    (lambda body: body.update(slot=12), "slot"),
    (lambda body: body["person"].update(phone="not a number"), "person.phone"),
    (lambda body: body["person"].update(email="nobody"), "person.email"),
    (lambda body: body["person"].update(last_name=""), "person.last_name"),
    (lambda body: body["person"].update(language="xx"), "person.language"),
    (lambda body: body["person"].update(channel="pigeon"), "person.channel"),
    (lambda body: body["person"].update(surname="Rossi"), "person.surname"),
    (lambda body: body.update(intake="PU-4K7M-2X9Q"), "intake"),
    (lambda body: body.pop("person"), "intake"),
    (lambda body: body.update(extra=1), "extra"),
])
def test_a_refused_booking_is_a_422_naming_the_member_and_stores_nothing(
    client: FlaskClient, session: Session, auth, open_agency, change, member: str  # type: ignore[no-untyped-def]
) -> None:
    body = {"slot": _slots(client, auth)[0]["slot"], "person": dict(PERSON)}
    change(body)
    stored = _stored(session)

    problem = _problem(_book(client, auth, body), 422)

    assert member in {error["field"] for error in problem["errors"]}
    assert _stored(session) == stored


def test_an_intake_that_does_not_exist_is_a_422(client: FlaskClient, session: Session, auth, open_agency) -> None:  # type: ignore[no-untyped-def]
    problem = _problem(_book(client, auth, {"slot": _slots(client, auth)[0]["slot"], "intake": "PU-4K7M-2X9Q"}), 422)
    assert [error["field"] for error in problem["errors"]] == ["intake"]
    assert _stored(session) == (0, 0, 0)


def test_an_unknown_appointment_is_a_404(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    _problem(client.get("/api/v1/appointments/999", headers=auth), 404)
    _problem(client.get("/api/v1/appointments/abc", headers=auth), 404)
    _problem(client.delete("/api/v1/appointments/999", headers=auth), 404)


# --- cancelling ----------------------------------------------------------------------------------


def test_delete_cancels_frees_the_slot_and_stops_the_reminders(client: FlaskClient, session: Session, auth, open_agency) -> None:  # type: ignore[no-untyped-def]
    chosen = _slots(client, auth, "service=colloquio&mode=in_person")[0]
    created = _book(client, auth, {"slot": chosen["slot"], "person": PERSON}).get_json()
    url = "/api/v1/appointments/{}".format(created["id"])

    response = client.delete(url, headers=auth)

    assert response.status_code == 204 and response.get_data() == b""
    assert client.get(url, headers=auth).get_json()["status"] == "cancelled"
    session.expire_all()
    by_kind = {m.kind: m.status for m in session.scalars(select(Message).where(
        Message.subject_key == "appointment:{}".format(created["id"])))}
    assert by_kind["appointment_reminder"] == "cancelled"
    assert by_kind["appointment_cancelled"] == "pending"
    assert chosen["start"] in {s["start"] for s in _slots(client, auth, "service=colloquio&mode=in_person")}
    assert client.delete(url, headers=auth).status_code == 204, "cancelling twice changes nothing"


def test_a_past_appointment_cannot_be_cancelled(client: FlaskClient, session: Session, auth, open_agency) -> None:  # type: ignore[no-untyped-def]
    created = _book(client, auth, {"slot": _slots(client, auth)[0]["slot"], "person": PERSON}).get_json()
    appointment = session.get(Appointment, created["id"])
    appointment.starts_at, appointment.ends_at = utcnow() - timedelta(hours=1), utcnow() - timedelta(minutes=30)
    session.commit()
    _problem(client.delete("/api/v1/appointments/{}".format(created["id"]), headers=auth), 409)
    session.expire_all()
    assert session.get(Appointment, created["id"]).status == "booked"


# --- the document ----------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_appointments_endpoints(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    paths = document["paths"]
    assert {"/services", "/slots", "/appointments", "/appointments/{appointment_id}"} <= set(paths)
    for operation in (paths["/services"]["get"], paths["/slots"]["get"], paths["/appointments"]["post"],
                      paths["/appointments/{appointment_id}"]["get"], paths["/appointments/{appointment_id}"]["delete"]):
        assert operation["security"] == [{"bearer": []}] and "appointments:write" in operation["description"]
        assert operation["tags"] == ["appointments"]
    assert {p["name"] for p in paths["/slots"]["get"]["parameters"]} == {"service", "office", "language", "mode", "from", "days"}
    assert {"201", "409", "422"} <= set(paths["/appointments"]["post"]["responses"])
    assert "content" not in paths["/appointments/{appointment_id}"]["delete"]["responses"]["204"]
    assert {"Slot", "SlotList", "ServiceList", "Appointment", "AppointmentRequest"} <= set(document["components"]["schemas"])


def test_no_date_is_needed_to_find_slots_today_or_later(client: FlaskClient, auth, open_agency) -> None:  # type: ignore[no-untyped-def]
    later = (date.today() + timedelta(days=20)).isoformat()
    found = _slots(client, auth, "service=colloquio&from={}&days=2".format(later))
    assert found and all(s["start"][:10] >= later for s in found)
