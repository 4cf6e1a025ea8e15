"""The page a manage link opens: what, when, where; change the date or cancel, no login.

After booking, the appointment's page lives at ``/appointments/<manage_token>``: the
token is random and stops working a week after the appointment (see
``services.by_manage_token``); it is the only secret that ever appears in an address.
The routes belong to the appointments blueprint and are registered when ``views.py``
imports this module.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.appointments import services
from portal.appointments.ics import appointment_ics
from portal.appointments.models import BOOKED, Appointment
from portal.appointments.slots import InvalidSlot
from portal.appointments.views import BRING, BRING_ALWAYS, CHANGE_LIMIT, GONE, TAKEN, _after, _policy, _slot_page, bp
from portal.auth.access import public
from portal.db import get_session, utcnow
from portal.extensions import limiter
from portal.i18n import current_language


def _by_token(token: str) -> tuple[Appointment | None, Any]:
    """The appointment, or the page that explains why the link opens nothing (and the status)."""
    try:
        appointment = services.by_manage_token(get_session(), token, utcnow())
    except services.LinkExpired:
        return None, (render_template("appointments/link_problem.html", expired=True), 410)
    if appointment is None:
        return None, (render_template("appointments/link_problem.html", expired=False), 404)
    return appointment, None


def _changeable(appointment: Appointment) -> bool:
    """Still booked and not yet begun: later than that, the helpline takes over."""
    return appointment.status == BOOKED and appointment.starts_at > utcnow()


def _render_manage(appointment: Appointment, message: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    bring = [*BRING_ALWAYS, *BRING.get(appointment.service.code, ())]
    return render_template("appointments/manage.html", appointment=appointment, bring=bring, message=message,
                           changeable=_changeable(appointment)), status


@bp.route("/<token>")
@public
def manage(token: str):  # type: ignore[no-untyped-def]
    """The appointment: what, when, where, what to bring; change the date, cancel, add to a calendar."""
    appointment, problem = _by_token(token)
    return problem or _render_manage(appointment)


@bp.route("/<token>/calendar.ics")
@public
def calendar(token: str):  # type: ignore[no-untyped-def]
    """The appointment as an iCalendar file (it names no service: calendars are often shared)."""
    appointment, problem = _by_token(token)
    if problem:
        return problem
    body = appointment_ics(appointment, _policy(), current_language())
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": 'attachment; filename="appointment.ics"'})


@bp.route("/<token>/cancel", methods=["POST"])
@public
@limiter.limit(CHANGE_LIMIT)
def cancel(token: str):  # type: ignore[no-untyped-def]
    """First press: "are you sure?"; second press (``confirm=yes``): cancelled, reminders stopped."""
    appointment, problem = _by_token(token)
    if problem:
        return problem
    if not _changeable(appointment):
        return _render_manage(appointment, _("This appointment can no longer be changed here."), 409)
    if request.form.get("confirm") != "yes":
        return render_template("appointments/cancel.html", appointment=appointment)
    db = get_session()
    try:
        services.cancel(db, appointment, now=utcnow(), policy=_policy())
    except services.NotBooked:
        db.rollback()
        return _render_manage(appointment, _("This appointment can no longer be changed here."), 409)
    db.commit()
    flash(_("Your appointment is cancelled."), "success")
    return redirect(url_for(".manage", token=token))


@bp.route("/<token>/reschedule", methods=["POST"])
@public
@limiter.limit(CHANGE_LIMIT)
def reschedule(token: str):  # type: ignore[no-untyped-def]
    """Without a chosen time: the free times. With one (``action=move``): the appointment moves."""
    appointment, problem = _by_token(token)
    if problem:
        return problem
    if not _changeable(appointment):
        return _render_manage(appointment, _("This appointment can no longer be changed here."), 409)
    error = message = None
    chosen = request.form.get("slot", "")
    if request.form.get("action") == "move":
        if not chosen:
            error = _("Choose a date and time.")
        else:
            db = get_session()
            try:
                services.reschedule(db, appointment, chosen, now=utcnow(), policy=_policy())
            except (services.SlotTaken, services.SlotUnavailable, services.NotBooked, InvalidSlot) as exc:
                db.rollback()
                message = str(TAKEN if isinstance(exc, services.SlotTaken) else GONE)
            else:
                db.commit()
                flash(_("Your appointment has been moved."), "success")
                return redirect(url_for(".manage", token=token))
    after, bad_date = _after()
    language = appointment.mediator_language or appointment.person.language
    page = _slot_page(appointment.service, appointment.office, appointment.mode, language, after)
    page.error, page.message = error, message or bad_date
    status = 409 if message else 400 if error or bad_date else 200
    return render_template("appointments/reschedule.html", appointment=appointment, page=page), status
