"""Booking, moving and cancelling a caller's appointments from their record.

An operator on the phone books in two clicks: the caller's record already lists the
next free times of the service their latest request recommends, in their language (with
a mediator when no one who delivers it speaks it), each with a "Book this" button. The
booking services do the work with the channel "phone" and the operator as its author;
the confirmation and reminders go out as for any booking. When nothing is free soon
enough, the record offers the waiting list instead and lists the caller's places in line
(the routes are in ``waiting_list.py``).

The record's template includes ``appointments/_person_appointments.html``; what it shows
comes from :func:`booking_panel`, a template helper of the console. The routes are the
console blueprint's, registered when ``views.py`` imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal.agency.models import Office, Service
from portal.agency.services import MODE_LABELS, active_service, active_services
from portal.appointments import replies, services, waiting
from portal.appointments.models import BOOKED, WAITING, Appointment, WaitingListEntry, WaitingListOffer
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import InvalidSlot, Slot, decode_slot, encode_slot, find_slots
from portal.auth.access import roles_required
from portal.console.forms import ActionForm
from portal.console.views import CONSOLE_ROLES, bp
from portal.db import get_session, utcnow
from portal.i18n import localized
from portal.intake.models import Intake
from portal.people.models import Person

#: Free times offered on the record, and on the page that moves an appointment.
OFFERED = 6
MOVE_OFFERED = 12
STATUS_LABELS = {
    "booked": _l("Booked"),
    "cancelled": _l("Cancelled"),
    "attended": _l("Attended"),
    "no_show": _l("Did not come"),
}


@dataclass
class Offer:
    """One free time as the operator reads it, with the id its button posts."""

    slot: Slot
    slot_id: str
    office: Office


@dataclass
class Place:
    """One of the caller's places in a waiting line, with the time held for them if any."""

    entry: WaitingListEntry
    position: int
    offer: WaitingListOffer | None


@dataclass
class BookingPanel:
    """What the record shows about appointments: the caller's, and times to book."""

    upcoming: list[Appointment]
    past: list[Appointment]
    confirmed: dict[int, Any]
    service: Service | None
    language: str
    offers: list[Offer]
    services: list[Service] = field(default_factory=list)
    form: ActionForm | None = None
    #: The caller's places in line (entries still waiting), oldest first.
    waiting: list[Place] = field(default_factory=list)
    #: Nothing is free for ``service`` within the waiting window: the caller may join its line.
    may_wait: bool = False

    @property
    def offer_to_wait(self) -> bool:
        """Show "Add to the waiting list": they may wait for this service and are not in its line yet."""
        if self.service is None or not self.may_wait:
            return False
        return all(place.entry.service_id != self.service.id for place in self.waiting)


def _policy() -> BookingPolicy:
    return BookingPolicy.from_config(current_app.config["PORTA"])


def latest_intake(person: Person) -> Intake | None:
    """The caller's latest submitted request that recommends a service."""
    return get_session().scalar(
        select(Intake)
        .where(Intake.person_id == person.id, Intake.submitted_at.is_not(None), Intake.recommended_service.is_not(None))
        .order_by(Intake.submitted_at.desc(), Intake.id.desc())
        .limit(1)
    )


def places(person: Person, now: datetime) -> list[Place]:
    """The caller's entries still waiting, with their place in line and any time held for them."""
    session = get_session()
    entries = session.scalars(
        select(WaitingListEntry)
        .where(WaitingListEntry.person_id == person.id, WaitingListEntry.status == WAITING)
        .order_by(WaitingListEntry.created_at, WaitingListEntry.id)
    )
    return [Place(entry, waiting.position(session, entry) or 0, waiting.held_offer(session, entry, now))
            for entry in entries]


def _offers(slots: list[Slot], policy: BookingPolicy) -> list[Offer]:
    session = get_session()
    return [Offer(slot, encode_slot(slot, policy.secret_key), session.get(Office, slot.office_id)) for slot in slots]


def booking_panel(person: Person) -> BookingPanel:
    """The caller's appointments, and the next free times of the service to book.

    The service is the one chosen on the record (``?service=CODE``), else the one the
    latest request recommends; the language is that request's, else the caller's.
    """
    session, policy, now = get_session(), _policy(), utcnow()
    mine = list(session.scalars(select(Appointment).where(Appointment.person_id == person.id).order_by(Appointment.starts_at)))
    upcoming = [a for a in mine if a.status == BOOKED and a.starts_at > now]
    past = [a for a in reversed(mine) if a not in upcoming]
    intake = latest_intake(person)
    code = request.args.get("service") or (intake.recommended_service if intake is not None else None)
    service = active_service(session, code)
    language = intake.language if intake is not None else person.language
    slots = find_slots(session, policy, service, now, language=language, limit=OFFERED) if service is not None else []
    # The first free time shown decides it: no second search.
    may_wait = service is not None and waiting.nothing_soon(slots[0].start if slots else None, now, policy)
    return BookingPanel(
        upcoming=upcoming,
        past=past,
        confirmed=replies.confirmations(session, upcoming),
        service=service,
        language=language,
        offers=_offers(slots, policy),
        services=active_services(session),
        form=ActionForm(),
        waiting=places(person, now),
        may_wait=may_wait,
    )


def appointment_time(moment: Any) -> str:
    """A day and time as operators read them, on the agency's clock ("lunedì 6 luglio 2026, 09:00")."""
    return "{}, {}".format(format_date(moment, "full"), format_time(moment, "short"))


@bp.context_processor
def _booking_helpers() -> dict[str, Any]:
    return {
        "booking_panel": booking_panel,
        "appointment_time": appointment_time,
        "appointment_status_label": lambda code: str(STATUS_LABELS.get(code, code)),
        "mode_label": lambda code: str(MODE_LABELS.get(code, code)),
        "service_name": lambda service: localized(service.name) or service.code,
    }


def _check_form() -> str:
    """The posted slot id, after the CSRF check (400 without a token or a slot)."""
    if not ActionForm().validate_on_submit() or not request.form.get("slot"):
        abort(400)
    return request.form["slot"]


def record(person_id: int):  # type: ignore[no-untyped-def]
    """Back to the caller's record, at its appointments."""
    return redirect(url_for("console.person", person_id=person_id) + "#appointments")


@bp.post("/people/<int:person_id>/appointments")
@roles_required(*CONSOLE_ROLES)
def book_for_caller(person_id: int):  # type: ignore[no-untyped-def]
    """The "Book this" button: book the time for the caller, by phone, and go back to the record."""
    slot_id = _check_form()
    session, policy = get_session(), _policy()
    caller = session.get(Person, person_id)
    if caller is None:
        abort(404)
    intake = latest_intake(caller)
    try:
        slot = decode_slot(slot_id, policy.secret_key)
        if intake is not None and intake.recommended_service != _service_code(slot.service_id):
            intake = None  # booked for another service than the request recommends
        appointment = services.book(session, slot_id, caller, now=utcnow(), policy=policy, intake=intake,
                                    channel="phone", by=current_user)
        session.commit()
    except InvalidSlot:
        session.rollback()
        abort(400)
    except (services.SlotTaken, services.SlotUnavailable):
        session.rollback()
        flash(_("This time has just been taken. Choose another one."), "warning")
        return record(person_id)
    flash(_("The appointment is booked for %(when)s. The caller will receive a confirmation.",
            when=appointment_time(appointment.starts_at)), "success")
    return record(person_id)


def _service_code(service_id: int) -> str | None:
    service = get_session().get(Service, service_id)
    return service.code if service is not None else None


def _booked(appointment_id: int) -> Appointment:
    appointment = get_session().get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    return appointment


@bp.post("/appointments/<int:appointment_id>/cancel")
@roles_required(*CONSOLE_ROLES)
def cancel_appointment(appointment_id: int):  # type: ignore[no-untyped-def]
    """Cancel at the caller's request: the time is free again and the reminders stop."""
    if not ActionForm().validate_on_submit():
        abort(400)
    session = get_session()
    appointment = _booked(appointment_id)
    try:
        services.cancel(session, appointment, now=utcnow(), policy=_policy(), by=current_user, reason="operator")
        session.commit()
        flash(_("The appointment is cancelled. The caller will receive a message."), "success")
    except services.NotBooked:
        session.rollback()
        flash(_("This appointment was already cancelled or is over."), "warning")
    return record(appointment.person_id)


@bp.route("/appointments/<int:appointment_id>/change", methods=["GET", "POST"])
@roles_required(*CONSOLE_ROLES)
def change_appointment(appointment_id: int):  # type: ignore[no-untyped-def]
    """Move an appointment: the next free times of the same service, one button each."""
    session, policy = get_session(), _policy()
    appointment = _booked(appointment_id)
    if request.method == "POST":
        slot_id = _check_form()
        try:
            services.reschedule(session, appointment, slot_id, now=utcnow(), policy=policy, by=current_user)
            session.commit()
        except InvalidSlot:
            session.rollback()
            abort(400)
        except services.NotBooked:
            session.rollback()
            flash(_("This appointment was already cancelled or is over."), "warning")
            return record(appointment.person_id)
        except services.BookingError:
            session.rollback()
            flash(_("This time has just been taken. Choose another one."), "warning")
            return redirect(url_for("console.change_appointment", appointment_id=appointment.id))
        flash(_("The appointment is moved to %(when)s. The caller will receive a message.",
                when=appointment_time(appointment.starts_at)), "success")
        return record(appointment.person_id)
    if appointment.status != BOOKED:
        flash(_("This appointment was already cancelled or is over."), "warning")
        return record(appointment.person_id)
    language = appointment.mediator_language or appointment.person.language
    slots = find_slots(session, policy, appointment.service, utcnow(), language=language, limit=MOVE_OFFERED)
    return render_template("console/booking_change.html", appointment=appointment, person=appointment.person,
                           offers=_offers(slots, policy), form=ActionForm())
