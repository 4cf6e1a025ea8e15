"""The staff calendar: a day or a week of appointments per office or staff member, and
marking each one attended or missed once it has started.

A missed appointment is the caseworker's to follow up. Until casework has its own tasks,
:data:`appointment_no_show` is the seam: it is sent with the appointment, in the marking's
transaction, and a receiver that creates the follow-up task connects to it. Nothing here
pretends a task exists. The "we missed you" message is the staff member's choice (a
checkbox), because they may know the person already rebooked by phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from blinker import Namespace
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from messaging import outbox
from portal.agency.models import Office
from portal.appointments.models import BOOKED, CANCELLED, Appointment
from portal.appointments.policy import BookingPolicy
from portal.auth.access import roles_required
from portal.auth.models import StaffMember
from portal.console.booking import MODE_LABELS, STATUS_LABELS
from portal.db import get_session, utcnow
from portal.i18n import localized
from portal.people.services import recipient

bp = Blueprint("calendar", __name__, url_prefix="/staff/calendar", template_folder="templates")

#: Who works with the calendar: the front desk and the people who receive appointments.
CALENDAR_ROLES = ("operator", "caseworker", "coordinator", "admin")
ATTENDED = "attended"
NO_SHOW = "no_show"

_signals = Namespace()
#: Sent with the :class:`Appointment` (keyword arguments ``session`` and ``now``) when it
#: is marked a no-show; a receiver creates the follow-up task for the intake's caseworker.
appointment_no_show = _signals.signal("appointment-no-show")


class NotStarted(Exception):
    """The appointment has not started yet (or is not booked): it cannot be marked."""


# --- services ------------------------------------------------------------------------------


def appointments_between(
    session: Session, first: date, last: date, tz: Any, *, office_id: int | None = None, staff_id: int | None = None
) -> list[Appointment]:
    """Appointments not cancelled from local day ``first`` to ``last`` (both included), earliest first.

    Days are the agency's local days, so an appointment at 00:30 in Rome belongs to that day
    even though in UTC it is the evening before.
    """
    start = datetime.combine(first, time(), tzinfo=tz).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz).astimezone(timezone.utc)
    query = (
        select(Appointment)
        .where(Appointment.status != CANCELLED, Appointment.starts_at >= start, Appointment.starts_at < end)
        # The calendar shows who, what, where and with whom on every row: load them with the rows.
        .options(selectinload(Appointment.person), selectinload(Appointment.service), selectinload(Appointment.office),
                 selectinload(Appointment.staff), selectinload(Appointment.mediator))
    )
    if office_id is not None:
        query = query.where(Appointment.office_id == office_id)
    if staff_id is not None:
        query = query.where(Appointment.staff_id == staff_id)
    return list(session.scalars(query.order_by(Appointment.starts_at, Appointment.staff_id)))


def mark(
    session: Session,
    appointment: Appointment,
    outcome: str,
    *,
    now: datetime,
    policy: BookingPolicy,
    follow_up: bool = False,
) -> Appointment:
    """Record that the person came (``attended``) or not (``no_show``); flushes, the caller commits.

    Only a booked appointment that has started can be marked. A no-show sends
    :data:`appointment_no_show` and, with ``follow_up``, queues the "we missed you" message
    (once per appointment, whatever the retries).
    """
    if outcome not in (ATTENDED, NO_SHOW):
        raise ValueError("unknown outcome {!r}".format(outcome))
    if appointment.status != BOOKED or appointment.starts_at > now:
        raise NotStarted("only a booked appointment that has started can be marked")
    appointment.status = outcome
    appointment.updated_at = now
    session.flush()
    if outcome == NO_SHOW:
        if follow_up:
            _missed_you(session, appointment, policy, now)
        appointment_no_show.send(appointment, session=session, now=now)
    return appointment


def _missed_you(session: Session, appointment: Appointment, policy: BookingPolicy, now: datetime) -> None:
    to = recipient(appointment.person)
    if to is None:  # messages could put this person at risk
        return
    outbox.enqueue(
        session,
        to,
        "no_show_followup",
        {"start": appointment.starts_at.isoformat(), "helpline": policy.helpline, "link": policy.booking_link()},
        send_at=now,
        idempotency_key="appointment:{}:no_show".format(appointment.id),
        subject_key=appointment.subject_key,
    )


# --- views ---------------------------------------------------------------------------------


class MarkForm(FlaskForm):
    """Only the CSRF token: the outcome is in the URL, the checkbox read as a plain field."""


@dataclass
class Filters:
    day: date
    office: Office | None
    staff: StaffMember | None
    printing: bool


def _policy() -> BookingPolicy:
    return BookingPolicy.from_config(current_app.config["PORTA"])


def _filters(session: Session, policy: BookingPolicy) -> Filters:
    try:
        day = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        day = utcnow().astimezone(policy.timezone).date()
    office_id = request.args.get("office", type=int)
    staff_id = request.args.get("staff", type=int)
    office = session.get(Office, office_id) if office_id else None
    staff = session.get(StaffMember, staff_id) if staff_id else None
    return Filters(day, office, staff, request.args.get("print") == "1")


def _render(view: str, first: date, last: date, step: timedelta) -> str:
    session, policy = get_session(), _policy()
    filters = _filters(session, policy)
    found = appointments_between(
        session, first, last, policy.timezone,
        office_id=filters.office.id if filters.office else None, staff_id=filters.staff.id if filters.staff else None,
    )
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    by_day: dict[date, list[Appointment]] = {day: [] for day in days}
    for appointment in found:
        by_day[appointment.starts_at.astimezone(policy.timezone).date()].append(appointment)
    return render_template(
        "appointments/staff_calendar.html",
        view=view, days=days, by_day=by_day, filters=filters, first=first, last=last,
        previous=first - step, next=first + step, now=utcnow(), form=MarkForm(),
        offices=session.scalars(select(Office).order_by(Office.name)).all(),
        staff_members=session.scalars(
            select(StaffMember).where(StaffMember.active.is_(True)).order_by(StaffMember.full_name)
        ).all(),
        status_label=lambda code: str(STATUS_LABELS.get(code, code)),
        mode_label=lambda code: str(MODE_LABELS.get(code, code)),
        service_name=lambda service: localized(service.name) or service.code,
    )


@bp.route("/")
@roles_required(*CALENDAR_ROLES)
def day():  # type: ignore[no-untyped-def]
    """One day's appointments (today by default), for an office, a staff member or everyone."""
    chosen = _filters(get_session(), _policy()).day
    return _render("day", chosen, chosen, timedelta(days=1))


@bp.route("/week")
@roles_required(*CALENDAR_ROLES)
def week():  # type: ignore[no-untyped-def]
    """Monday to Sunday of the week holding ``day``."""
    chosen = _filters(get_session(), _policy()).day
    monday = chosen - timedelta(days=chosen.weekday())
    return _render("week", monday, monday + timedelta(days=6), timedelta(days=7))


@bp.route("/appointments/<int:appointment_id>/<any(attended, no_show):outcome>", methods=["POST"])
@roles_required(*CALENDAR_ROLES)
def mark_outcome(appointment_id: int, outcome: str):  # type: ignore[no-untyped-def]
    """Mark an appointment attended or missed, then back to the calendar the form came from."""
    form = MarkForm()
    if not form.validate_on_submit():
        abort(400)
    session = get_session()
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    try:
        mark(session, appointment, outcome, now=utcnow(), policy=_policy(),
             follow_up=request.form.get("follow_up") == "1")
    except NotStarted:
        session.rollback()
        flash(_("This appointment cannot be marked: it has not started or it is not booked."), "danger")
    else:
        session.commit()
        flash(_("Marked as attended.") if outcome == ATTENDED else _("Marked as missed."), "success")
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/staff/calendar") else url_for(".day"))
