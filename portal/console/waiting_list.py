"""The waiting list from the caller's record: add the caller, book a time held for them, take them off.

An operator on the phone can do for a caller what the caller does with the link in their
messages. The rules live in ``portal.appointments.waiting``; these views only parse the
button, call it and say what happened. Every refusal (the offer ran out, the time was
taken, the entry is closed) rolls back and is flashed, so nothing is changed by half.

The routes are the console blueprint's, registered when ``views.py`` imports this module
(``booking`` is read at call time: the two modules import each other through ``views``).
"""

from __future__ import annotations

from flask import abort, current_app, flash, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.agency.services import active_service
from portal.appointments import services, waiting
from portal.appointments.models import WaitingListEntry
from portal.appointments.policy import BookingPolicy
from portal.auth.access import roles_required
from portal.console import booking
from portal.console.forms import ActionForm
from portal.console.views import CONSOLE_ROLES, bp
from portal.db import get_session, utcnow
from portal.people.models import Person


def _policy() -> BookingPolicy:
    return BookingPolicy.from_config(current_app.config["PORTA"])


def _check_token() -> None:
    """400 without a valid CSRF token, as for every other button of the record."""
    if not ActionForm().validate_on_submit():
        abort(400)


def _entry(entry_id: int) -> WaitingListEntry:
    entry = get_session().get(WaitingListEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


@bp.post("/people/<int:person_id>/waiting-list")
@roles_required(*CONSOLE_ROLES)
def join_waiting_list(person_id: int):  # type: ignore[no-untyped-def]
    """The "Add to the waiting list" button: the caller waits for ``service`` in the record's language."""
    _check_token()
    session, policy = get_session(), _policy()
    caller = session.get(Person, person_id)
    if caller is None:
        abort(404)
    code = request.form.get("service", "")
    service = active_service(session, code)
    if service is None:
        abort(400)
    intake = booking.latest_intake(caller)
    language = intake.language if intake is not None else caller.language
    if intake is not None and intake.recommended_service != service.code:
        intake = None  # waiting for another service than the request recommends
    try:
        entry = waiting.join(session, caller, service, now=utcnow(), policy=policy,
                             language=language, channel="phone", by=current_user,
                             intake=intake)
        place = waiting.position(session, entry)
        session.commit()
    except waiting.NotReachable:
        session.rollback()
        flash(_("This caller may not receive messages, so a freed time could not be offered to them."), "warning")
        return booking.record(person_id)
    flash(_("The caller is on the waiting list (place %(position)s). They will receive a message.", position=place),
          "success")
    return booking.record(person_id)


@bp.post("/waiting-list/<int:entry_id>/accept")
@roles_required(*CONSOLE_ROLES)
def accept_waiting_offer(entry_id: int):  # type: ignore[no-untyped-def]
    """The "Book the offered time" button: book the time held for the caller, as if they replied "1"."""
    _check_token()
    session, policy, now = get_session(), _policy(), utcnow()
    entry = _entry(entry_id)
    person_id = entry.person_id
    try:
        offer = waiting.held_offer(session, entry, now)
        if offer is None:
            raise waiting.OfferGone("no offer is held")
        appointment = waiting.accept(session, offer, now=now, policy=policy, by=current_user)
        when = booking.appointment_time(appointment.starts_at)
        session.commit()
    except waiting.OfferGone:
        session.rollback()
        flash(_("This time is no longer held for the caller. Nothing was booked."), "warning")
        return booking.record(person_id)
    except services.BookingError:
        session.rollback()
        flash(_("This time can no longer be booked. The caller keeps their place in line."), "warning")
        return booking.record(person_id)
    flash(_("The appointment is booked for %(when)s. The caller will receive a confirmation.", when=when), "success")
    return booking.record(person_id)


@bp.post("/waiting-list/<int:entry_id>/leave")
@roles_required(*CONSOLE_ROLES)
def leave_waiting_list(entry_id: int):  # type: ignore[no-untyped-def]
    """The "Remove from the waiting list" button: a time held for the caller goes to the next in line."""
    _check_token()
    session = get_session()
    entry = _entry(entry_id)
    person_id = entry.person_id
    try:
        waiting.leave(session, entry, now=utcnow(), policy=_policy(), by=current_user)
        session.commit()
    except waiting.WaitingListError:
        session.rollback()
        flash(_("The caller is no longer on this waiting list."), "warning")
        return booking.record(person_id)
    flash(_("The caller was removed from the waiting list."), "success")
    return booking.record(person_id)
