"""The appointments API: services, free slots, booking, reading and cancelling.

A partner's system books for a person the way the citizen's pages do: it asks for the
free slots of a service, sends back the opaque ``slot`` id of the one chosen, and gets
the appointment, whose confirmation and reminders are already in the outbox. The
booking services do the work (``portal.appointments.services``); these views parse,
answer, and commit or roll back, so a refused request stores nothing.

Every endpoint needs the scope ``appointments:write``. Views register on the API's
blueprint (imported at the end of ``views.py``) and describe themselves for the
OpenAPI document like the intake views.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping

from flask import Response, current_app, request
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agency.models import Office, Service
from portal.api import appointment_requests as requests
from portal.api import openapi
from portal.api.auth import rate_limit_key, token_required
from portal.api.openapi import operation
from portal.api.problems import Problem, problem_response
from portal.api.views import READ_LIMIT, WRITE_LIMIT, _errors_locale, _json, _per_token, _read_json_object, bp
from portal.appointments import services as booking
from portal.appointments.models import APPOINTMENT_STATUSES, BOOKED, CANCELLED, MODES, Appointment
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import Slot, candidate_slots, decode_slot, find_slots, to_json
from portal.config import DEFAULT_LANGUAGE, LANGUAGES
from portal.db import get_session, utcnow
from portal.extensions import limiter
from portal.i18n import localized
from portal.people.models import PREFERRED_CHANNELS, Person
from portal.people.services import fold, new_person

SCOPE = "appointments:write"
#: The most slots one answer lists.
MAX_SLOTS = 200
#: Free slots offered instead of one that was just taken.
ALTERNATIVES = 5
_BY_ID = "{}/api/v1/appointments/{}"


def _policy() -> BookingPolicy:
    return BookingPolicy.from_config(current_app.config["PORTA"])


def _language() -> str:
    """The language of service names: Accept-Language among ours, else Italian."""
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE


@bp.get("/services")
@operation("listServices", 200, "ServiceList", (401, 403))
@limiter.limit(_per_token(READ_LIMIT), key_func=rate_limit_key)
@token_required(SCOPE)
def list_services():  # type: ignore[no-untyped-def]
    """List the services an appointment can be booked for.

    `name` follows `Accept-Language` (Italian by default); `code` is what `/slots` takes.
    """
    language = _language()
    found = get_session().scalars(select(Service).where(Service.active.is_(True)).order_by(Service.code))
    return _json([
        {"code": service.code, "name": localized(service.name, language) or service.code,
         "duration_minutes": service.duration_minutes, "modes": [m for m in MODES if m in (service.modes or [])]}
        for service in found
    ])


@bp.get("/slots")
@operation("listSlots", 200, "SlotList", (401, 403, 422), query=(
    ("service", True, "A service code, as `/services` lists them."),
    ("office", False, "An office code: only slots there."),
    ("language", False, "The person's language: staff who speak it, or a cultural mediator for it."),
    ("mode", False, "`in_person` or `phone_call`."),
    ("from", False, "The first day (YYYY-MM-DD, agency time zone); today by default."),
    ("days", False, "How many days from `from` (1–{}); {} by default.".format(requests.MAX_DAYS, requests.DEFAULT_DAYS)),
))
@limiter.limit(_per_token(READ_LIMIT), key_func=rate_limit_key)
@token_required(SCOPE)
def list_slots():  # type: ignore[no-untyped-def]
    """List the free slots of a service, earliest first.

    Each `slot` is an opaque id to send back to book it; it cannot be altered. Times are
    local to the agency, with their UTC offset. Nothing sooner than the minimum notice or
    beyond the booking horizon is offered. A wrong parameter is a 422 naming it.
    """
    policy = _policy()
    with force_locale(_errors_locale()):
        query = requests.slot_query(get_session(), request.args, utcnow().astimezone(policy.timezone).date())
    found = candidate_slots(get_session(), policy, query, utcnow(), limit=MAX_SLOTS)
    return _json(_slots_json(found, policy))


@bp.post("/appointments")
@operation("createAppointment", 201, "Appointment", (400, 401, 403, 409, 413, 415, 422), "AppointmentRequest",
           ("Location",))
@limiter.limit(_per_token(WRITE_LIMIT), key_func=rate_limit_key)
@token_required(SCOPE)
def create_appointment():  # type: ignore[no-untyped-def]
    """Book a slot for a person.

    Name the person by a submitted intake's `intake` reference, or describe them in
    `person`. The confirmation and the reminders are sent to them as for any booking.
    A slot someone else has just taken is a 409 whose `alternatives` are the next free
    slots; a refused request stores nothing.
    """
    body = _read_json_object()
    with force_locale(_errors_locale()):
        slot, intake, details = requests.parse_booking(get_session(), body, _policy().secret_key)
    session = get_session()
    policy = _policy()
    now = utcnow()
    try:
        person = intake.person if intake is not None else _new_person(session, details, now)
        appointment = booking.book(session, slot, person, now=now, policy=policy, intake=intake, channel="api")
        session.commit()
    except (booking.SlotTaken, booking.SlotUnavailable):
        session.rollback()
        return _taken(slot, policy)
    except BaseException:
        session.rollback()
        raise
    response = _json(_appointment_json(appointment, policy), 201)
    response.headers["Location"] = _BY_ID.format(policy.public_base_url, appointment.id)
    return response


@bp.get("/appointments/<appointment_id>")
@operation("getAppointment", 200, "Appointment", (401, 403, 404))
@limiter.limit(_per_token(READ_LIMIT), key_func=rate_limit_key)
@token_required(SCOPE)
def get_appointment(appointment_id: str):  # type: ignore[no-untyped-def]
    """Read an appointment: when, where, for which service, and its status."""
    return _json(_appointment_json(_find(appointment_id), _policy()))


@bp.delete("/appointments/<appointment_id>")
@operation("cancelAppointment", 204, "Appointment", (401, 403, 404, 409))
@limiter.limit(_per_token(WRITE_LIMIT), key_func=rate_limit_key)
@token_required(SCOPE)
def cancel_appointment(appointment_id: str):  # type: ignore[no-untyped-def]
    """Cancel an appointment: its time is free again and its reminders are not sent.

    The person receives a message saying it is cancelled. Cancelling a cancelled
    appointment again changes nothing (204); one that has begun or was held is a 409.
    """
    appointment = _find(appointment_id)
    session = get_session()
    now = utcnow()
    if appointment.status == CANCELLED:
        return Response(status=204)
    if appointment.status != BOOKED or appointment.starts_at <= now:
        raise Problem(409, "The appointment has begun or is over: it can no longer be cancelled.")
    try:
        booking.cancel(session, appointment, now=now, policy=_policy(), reason="api")
        session.commit()
    except booking.NotBooked:
        session.rollback()
        raise Problem(409, "The appointment is no longer booked.") from None
    except BaseException:
        session.rollback()
        raise
    return Response(status=204)


# --- answering ---------------------------------------------------------------------------------


def _new_person(session: Session, details: Mapping[str, Any], now: datetime) -> Person:
    """A new record for the person described (finding duplicates is an operator's call)."""
    person = new_person(now, details["language"])
    person.first_name, person.last_name = details["first_name"], details["last_name"]
    person.phone, person.email, person.preferred_channel = details["phone"], details["email"], details["channel"]
    person.search_name = fold("{} {}".format(person.first_name, person.last_name))
    session.add(person)
    session.flush()
    return person


def _find(appointment_id: str) -> Appointment:
    appointment = get_session().get(Appointment, int(appointment_id)) if appointment_id.isdigit() else None
    if appointment is None:
        raise Problem(404, "There is no appointment with this id.")
    return appointment


def _slots_json(found: list[Slot], policy: BookingPolicy) -> list[dict[str, Any]]:
    codes = dict(get_session().execute(select(Office.id, Office.code).where(Office.id.in_({s.office_id for s in found}))).all())
    return [to_json(slot, codes[slot.office_id], policy) for slot in found]


def _taken(slot_id: str, policy: BookingPolicy) -> Response:
    """409 with the next free slots of the same kind (service, office, mode, language)."""
    session = get_session()
    slot = decode_slot(slot_id, policy.secret_key)
    service, office = session.get(Service, slot.service_id), session.get(Office, slot.office_id)
    found = [] if service is None else find_slots(
        session, policy, service, utcnow(), office=office, language=slot.mediator_language, mode=slot.mode,
        limit=ALTERNATIVES)
    response = problem_response(409, "This slot is no longer free; nothing was stored. `alternatives` lists the "
                                "next free slots.")
    body = json.loads(response.get_data(as_text=True))
    body["alternatives"] = _slots_json(found, policy)
    response.set_data(json.dumps(body, ensure_ascii=False))
    return response


def _appointment_json(appointment: Appointment, policy: BookingPolicy) -> dict[str, Any]:
    """The contract: id, local start and end with offset, office and service codes, status, link."""
    return {
        "id": appointment.id,
        "start": appointment.starts_at.astimezone(policy.timezone).isoformat(),
        "end": appointment.ends_at.astimezone(policy.timezone).isoformat(),
        "office": appointment.office.code,
        "service": appointment.service.code,
        "mode": appointment.mode,
        "status": appointment.status,
        "manage_url": policy.manage_link(appointment.manage_token),
    }


_slot_schema = {
    "type": "object", "required": ["slot", "start", "end", "office", "mode"],
    "properties": {
        "slot": {"type": "string", "description": "Opaque; send it back unchanged to book."},
        "start": {"type": "string", "format": "date-time", "examples": ["2026-10-26T09:00:00+01:00"]},
        "end": {"type": "string", "format": "date-time"},
        "office": {"type": "string", "description": "The office's code."},
        "mode": {"type": "string", "enum": list(MODES)},
    },
}
openapi.register_schemas({
    "ServiceList": {"type": "array", "items": {
        "type": "object", "required": ["code", "name", "duration_minutes", "modes"],
        "properties": {"code": {"type": "string"}, "name": {"type": "string", "description": "In Accept-Language."},
                       "duration_minutes": {"type": "integer"},
                       "modes": {"type": "array", "items": {"type": "string", "enum": list(MODES)}}}}},
    "Slot": _slot_schema,
    "SlotList": {"type": "array", "items": {"$ref": "#/components/schemas/Slot"}},
    "AppointmentRequest": {
        "type": "object", "required": ["slot"], "additionalProperties": False,
        "description": "Either `intake` or `person`.",
        "properties": {
            "slot": {"type": "string"},
            "intake": {"type": "string", "description": "A submitted intake's reference: books for its person."},
            "person": {"type": "object", "required": ["first_name", "last_name"], "additionalProperties": False,
                       "description": "A phone number or an e-mail address is needed.",
                       "properties": {
                           "first_name": {"type": "string", "maxLength": requests.NAME_MAX},
                           "last_name": {"type": "string", "maxLength": requests.NAME_MAX},
                           "phone": {"type": "string", "description": "E.164, or an Italian number."},
                           "email": {"type": "string", "format": "email"},
                           "language": {"type": "string", "enum": list(LANGUAGES)},
                           "channel": {"type": "string", "enum": list(PREFERRED_CHANNELS)}}},
        },
        "examples": [{"slot": "WzEsMSwxLDAsM…", "intake": "PU-4K7M-2X9Q"}],
    },
    "Appointment": {
        "type": "object", "required": ["id", "start", "end", "office", "service", "status", "manage_url"],
        "properties": {
            "id": {"type": "integer"},
            "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
            "office": {"type": "string"}, "service": {"type": "string"},
            "mode": {"type": "string", "enum": list(MODES)},
            "status": {"type": "string", "enum": list(APPOINTMENT_STATUSES)},
            "manage_url": {"type": "string", "format": "uri",
                           "description": "The person's own page to change or cancel it."},
        },
    },
})
