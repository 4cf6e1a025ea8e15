"""What a slot query and a booking request may say, checked before anything is stored.

Every value at fault is named in one 422 (``errors``): a query parameter by
``parameter``, a member of the body by ``field`` and ``pointer``. ``detail`` texts
follow ``Accept-Language`` (the caller sets the locale), because a partner may show
them to the person they concern.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agency.models import Office
from portal.agency.services import active_service
from portal.api.problems import Problem
from portal.appointments.models import MODES
from portal.appointments.slots import InvalidSlot, SlotQuery, decode_slot
from portal.config import DEFAULT_LANGUAGE, LANGUAGES
from portal.intake import services as intakes
from portal.intake.models import Intake
from portal.people.models import PREFERRED_CHANNELS
from portal.people.services import normalise_phone

BOOKING_MEMBERS = ("slot", "intake", "person")
PERSON_MEMBERS = ("first_name", "last_name", "phone", "email", "language", "channel")
NAME_MAX = 100
#: Days of slots one request returns by default, and the most it may ask for.
DEFAULT_DAYS = 14
MAX_DAYS = 366
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _invalid(errors: list[dict[str, Any]]) -> Problem:
    return Problem(422, "The request has {} invalid value(s); nothing was stored.".format(len(errors)), errors=errors)


def _parameter(name: str, detail: str) -> dict[str, Any]:
    return {"parameter": name, "detail": detail}


def _field(name: str, detail: str) -> dict[str, Any]:
    return {"field": name, "pointer": "/" + name.replace(".", "/"), "detail": detail}


def slot_query(session: Session, args: Mapping[str, str], today: date) -> SlotQuery:
    """The query the parameters describe, or a 422 naming every wrong one."""
    errors = []
    service = active_service(session, args.get("service", ""))
    if service is None:
        errors.append(_parameter("service", _("Choose a service code that /services lists.")))
    office = None
    if args.get("office"):
        office = session.scalar(select(Office).where(Office.code == args["office"]))
        if office is None or (service is not None and office not in service.offices):
            errors.append(_parameter("office", _("This office does not offer this service.")))
    language = args.get("language") or None
    if language is not None and language not in LANGUAGES:
        errors.append(_parameter("language", _("Choose one of these languages: %(codes)s.", codes=", ".join(LANGUAGES))))
    mode = args.get("mode") or None
    if mode is not None and mode not in MODES:
        errors.append(_parameter("mode", _("Choose one of these modes: %(codes)s.", codes=", ".join(MODES))))
    first: date | None = today
    if args.get("from"):
        first = _day(args["from"])
        if first is None:
            errors.append(_parameter("from", _("Write a date that exists, as YYYY-MM-DD.")))
    days = DEFAULT_DAYS
    if "days" in args:
        days = int(args["days"]) if args["days"].isdigit() else 0
        if not 1 <= days <= MAX_DAYS:
            errors.append(_parameter("days", _("Write a number of days from 1 to %(max)s.", max=MAX_DAYS)))
    if errors:
        raise _invalid(errors)
    assert service is not None and first is not None
    return SlotQuery(service=service, office=office, language=language, mode=mode,
                     first_day=first, last_day=first + timedelta(days=days - 1))


def _day(text: str) -> date | None:
    """A real calendar day written YYYY-MM-DD; None for 2026-02-30 or any other form."""
    if not _DAY.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_booking(session: Session, body: Mapping[str, Any], secret_key: str) -> tuple[str, Intake | None, dict[str, Any]]:
    """(slot id, intake or None, person details) or a 422 naming every member at fault."""
    errors = [_field(name, _("There is no such field.")) for name in body if name not in BOOKING_MEMBERS]
    slot = body.get("slot")
    if not isinstance(slot, str) or not slot:
        errors.append(_field("slot", _("Send the slot id that /slots returned.")))
    else:
        try:
            decode_slot(slot, secret_key)
        except InvalidSlot:
            errors.append(_field("slot", _("This is not a slot id that /slots returned.")))
    intake, details = None, {}
    if ("intake" in body) == ("person" in body):
        errors.append(_field("intake", _("Send either the reference of an intake or the person's details.")))
    elif "intake" in body:
        reference = body["intake"]
        intake = intakes.find_by_reference(session, reference) if isinstance(reference, str) else None
        if intake is None or intake.submitted_at is None or intake.person is None:
            errors.append(_field("intake", _("There is no submitted intake with this reference.")))
    else:
        details, wrong = _person_details(body["person"])
        errors += wrong
    if errors:
        raise _invalid(errors)
    return str(slot), intake, details


def _person_details(raw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The person's details, normalised, and what is wrong with them."""
    if not isinstance(raw, dict):
        return {}, [_field("person", _("Send the person's details as an object."))]
    errors = [_field("person." + name, _("There is no such field.")) for name in raw if name not in PERSON_MEMBERS]
    values = {name: raw.get(name) for name in PERSON_MEMBERS}
    for name in ("first_name", "last_name"):
        text = values[name].strip() if isinstance(values[name], str) else ""
        values[name] = text
        if not text or len(text) > NAME_MAX:
            errors.append(_field("person." + name, _("Write a name of at most %(max)s characters.", max=NAME_MAX)))
    if values["phone"] is not None:
        values["phone"] = normalise_phone(values["phone"]) if isinstance(values["phone"], str) else None
        if values["phone"] is None:
            errors.append(_field("person.phone", _("Write a phone number that can receive messages.")))
    if values["email"] is not None:
        email = values["email"].strip().lower() if isinstance(values["email"], str) else ""
        values["email"] = email
        if not _EMAIL.match(email) or len(email) > 254:
            errors.append(_field("person.email", _("Write an e-mail address such as name@example.org.")))
    if raw.get("phone") is None and raw.get("email") is None:
        errors.append(_field("person.phone", _("Send a phone number or an e-mail address, to send the reminders.")))
    values["language"] = values["language"] or DEFAULT_LANGUAGE
    if values["language"] not in LANGUAGES:
        errors.append(_field("person.language", _("Choose one of these languages: %(codes)s.", codes=", ".join(LANGUAGES))))
    values["channel"] = values["channel"] or "sms"
    if values["channel"] not in PREFERRED_CHANNELS:
        errors.append(_field("person.channel", _("Choose one of these channels: %(codes)s.",
                                                 codes=", ".join(PREFERRED_CHANNELS))))
    return values, errors
