"""The page a waiting-list link opens: the place in line, a held time to accept, leaving the list.

The link (``/appointments/waiting/<token>``) comes in the ``waiting_list_joined`` and
``waiting_list_offer`` messages; like an appointment's manage link, its random token is
the only secret in the address and no login is needed. Every POST carries the CSRF
token (``CSRFProtect`` checks it). The routes belong to the appointments blueprint and
are registered when ``views.py`` imports this module.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.appointments import services, waiting
from portal.appointments.models import Appointment, WaitingListEntry
from portal.appointments.views import CHANGE_LIMIT, _policy, bp
from portal.auth.access import public
from portal.db import get_session, utcnow
from portal.extensions import limiter


def _entry(token: str) -> WaitingListEntry:
    entry = waiting.by_token(get_session(), token)
    if entry is None:
        abort(404)
    return entry


def _render(entry: WaitingListEntry, message: str | None = None, status: int = 200, confirm_leave: bool = False):  # type: ignore[no-untyped-def]
    db, now = get_session(), utcnow()
    offer = waiting.held_offer(db, entry, now) if entry.status == "waiting" else None
    appointment = db.get(Appointment, entry.appointment_id) if entry.appointment_id is not None else None
    return render_template(
        "appointments/waiting_place.html", entry=entry, offer=offer, appointment=appointment, message=message,
        from_offer=waiting.accepted_offer(db, entry) is not None,
        position=waiting.position(db, entry), confirm_leave=confirm_leave,
        hold_minutes=int(_policy().offer_hold.total_seconds() // 60),
    ), status


@bp.route("/waiting/<token>")
@public
def waiting_place(token: str):  # type: ignore[no-untyped-def]
    """Where the person stands: in line (and which place), a time held for them, or done."""
    return _render(_entry(token))


@bp.route("/waiting/<token>/accept", methods=["POST"])
@public
@limiter.limit(CHANGE_LIMIT)
def waiting_accept(token: str):  # type: ignore[no-untyped-def]
    """Take the time held for the person: it is booked at once, with its confirmation."""
    entry = _entry(token)
    db, now = get_session(), utcnow()
    offer = waiting.held_offer(db, entry, now)
    if offer is None:
        return _render(entry, _("Sorry: that time is no longer kept for you."), 409)
    try:
        appointment = waiting.accept(db, offer, now=now, policy=_policy())
    except services.BookingError:
        db.rollback()
        return _render(entry, _("Sorry: that time is no longer kept for you."), 409)
    db.commit()
    flash(_("Your appointment is booked. We have sent you a confirmation."), "success")
    return redirect(url_for("appointments.manage", token=appointment.manage_token))


@bp.route("/waiting/<token>/decline", methods=["POST"])
@public
@limiter.limit(CHANGE_LIMIT)
def waiting_decline(token: str):  # type: ignore[no-untyped-def]
    """Not this time: it goes to the next person, and this one keeps their place."""
    entry = _entry(token)
    db, now = get_session(), utcnow()
    offer = waiting.held_offer(db, entry, now)
    if offer is not None:
        try:
            waiting.decline(db, offer, now=now, policy=_policy())
        except services.BookingError:
            db.rollback()
        else:
            db.commit()
    flash(_("All right: you keep your place on the waiting list."), "success")
    return redirect(url_for("appointments.waiting_place", token=token))


@bp.route("/waiting/<token>/leave", methods=["POST"])
@public
@limiter.limit(CHANGE_LIMIT)
def waiting_leave(token: str):  # type: ignore[no-untyped-def]
    """First press: "are you sure?"; second press (``confirm=yes``): out of the line."""
    entry = _entry(token)
    if entry.status != "waiting":
        return _render(entry)
    if request.form.get("confirm") != "yes":
        return _render(entry, confirm_leave=True)
    db = get_session()
    try:
        waiting.leave(db, entry, now=utcnow(), policy=_policy())
    except services.BookingError:
        db.rollback()
        return _render(entry, status=409)
    db.commit()
    flash(_("You have left the waiting list."), "success")
    return redirect(url_for("appointments.waiting_place", token=token))

