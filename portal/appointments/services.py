"""Booking, cancelling and moving appointments: one transaction each, race-safe.

Two people may try to book the last slot at the same instant. Exactly one gets it:

1. The staff member's (and the mediator's) row is locked first: ``SELECT … FOR UPDATE``
   on PostgreSQL; on SQLite a no-op ``UPDATE`` of that row, which takes the database's
   single write lock (Python's sqlite3 opens the transaction at the first write, and
   ``busy_timeout`` makes the second booker wait for the first to commit rather than fail).
2. With the lock held, the slot is checked again against the plans (it may have become
   unavailable) and against booked appointments, overlapping ones of any length included.
3. The appointment is inserted; the partial unique indexes on (staff, start) and
   (mediator, start) of booked appointments are the last word if anything slipped past.

The loser gets :class:`SlotTaken` and can be shown the next free slots. Messages go into
the outbox in the same transaction (``notices.py``). These functions flush; the caller
commits — or rolls back after any :class:`BookingError`.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from blinker import Namespace
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.agency.models import Office, Service
from portal.appointments import notices
from portal.appointments.calendar import closures, working_periods
from portal.appointments.models import APPOINTMENT_CHANNELS, BOOKED, CANCELLED, Appointment
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import InvalidSlot, Slot, SlotQuery, candidate_slots, decode_slot, taken
from portal.auth.models import StaffLanguage, StaffMember
from portal.intake.models import Intake
from portal.people.models import Person

__all__ = [
    "BookingError",
    "InvalidSlot",
    "LinkExpired",
    "NotBooked",
    "SlotTaken",
    "SlotUnavailable",
    "book",
    "by_manage_token",
    "cancel",
    "reschedule",
]


_signals = Namespace()
#: Sent (with ``session``, ``now`` and ``policy``) when a booked time becomes free again:
#: the appointment was cancelled or moved to another time. The waiting list listens and
#: offers the time to the first in line, in the same transaction.
time_freed = _signals.signal("appointment-time-freed")
#: Sent (with ``session``, ``now``, ``policy`` and ``hold``) when an appointment is booked;
#: the waiting list closes the person's place in that service's line.
booked = _signals.signal("appointment-booked")


class BookingError(Exception):
    """A booking, move or cancellation that could not be done; roll the transaction back."""


class SlotTaken(BookingError):
    """Someone else booked this time (or an overlapping one) first."""

    def __init__(self, slot: Slot) -> None:
        super().__init__("the slot has just been taken")
        self.slot = slot


class SlotUnavailable(BookingError):
    """The slot is no longer offered: past, too soon, beyond the horizon, or the plan changed."""


class NotBooked(BookingError):
    """The appointment is not (or no longer) booked: it cannot be cancelled or moved."""


def lock(session: Session, people: list[int]) -> None:
    """Serialise bookings that involve any of ``people`` (see the module's docstring)."""
    ids = sorted(set(people))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(StaffMember.id).where(StaffMember.id.in_(ids)).order_by(StaffMember.id).with_for_update())
    else:
        table = StaffMember.__table__
        session.execute(update(table).where(table.c.id.in_(ids)).values(active=table.c.active))


def people_of(slot: Slot) -> list[int]:
    return [slot.staff_id] + ([slot.mediator_id] if slot.mediator_id else [])


def _check_offered(session: Session, policy: BookingPolicy, slot: Slot, now: datetime) -> tuple[Service, Office]:
    """The plans still offer ``slot`` (bookings aside), mediator included."""
    service = session.get(Service, slot.service_id)
    office = session.get(Office, slot.office_id)
    if service is None or office is None:
        raise SlotUnavailable("the service or the office no longer exists")
    day = slot.start.astimezone(policy.timezone).date()
    query = SlotQuery(service=service, office=office, mode=slot.mode, staff_id=slot.staff_id, first_day=day, last_day=day)
    offered = candidate_slots(session, policy, query, now, limit=None, check_busy=False)
    if slot.mediator_id is None:
        if slot not in offered:
            raise SlotUnavailable("the slot is no longer offered")
        return service, office
    bare = Slot(slot.service_id, slot.office_id, slot.mode, slot.staff_id, slot.start, slot.end)
    if bare not in offered or not _mediator_covers(session, policy, slot, day):
        raise SlotUnavailable("the slot is no longer offered with that mediator")
    return service, office


def _mediator_covers(session: Session, policy: BookingPolicy, slot: Slot, day: date) -> bool:
    """The mediator is active, speaks the language and their plan has them mediating then."""
    if slot.mediator_id is None:
        return False
    speaks = session.scalar(
        select(StaffLanguage.staff_id)
        .join(StaffMember, StaffMember.id == StaffLanguage.staff_id)
        .where(
            StaffLanguage.staff_id == slot.mediator_id,
            StaffLanguage.language == slot.mediator_language,
            StaffMember.active.is_(True),
        )
    )
    if speaks is None or slot.mediator_id == slot.staff_id:
        return False
    closed = closures(session, day, day, policy.patron_day)
    for period in working_periods(session, [slot.mediator_id], day, day, closed, purpose="mediation"):
        if slot.mode not in period.modes or (slot.mode == "in_person" and period.office_id != slot.office_id):
            continue
        starts = datetime.combine(period.day, period.starts, tzinfo=policy.timezone)
        ends = datetime.combine(period.day, period.ends, tzinfo=policy.timezone)
        if starts <= slot.start and slot.end <= ends:
            return True
    return False


def check_free(session: Session, slot: Slot, now: datetime, ignore: int | None = None, hold: int | None = None) -> None:
    """No booked appointment and no time held for the waiting list overlaps ``slot``.

    ``ignore`` is an appointment being moved; ``hold`` the offer being accepted. Call with
    the people locked (:func:`lock`), or the answer may be out of date when it is used.
    """
    for query in taken(people_of(slot), slot.start, slot.end, now, ignore=ignore, hold=hold):
        if session.execute(query.limit(1)).first() is not None:
            raise SlotTaken(slot)


def _flush(session: Session, slot: Slot) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # the unique indexes caught a double booking
        raise SlotTaken(slot) from exc


def book(
    session: Session,
    slot_id: str,
    person: Person,
    *,
    now: datetime,
    policy: BookingPolicy,
    intake: Intake | None = None,
    channel: str = "web",
    by: StaffMember | None = None,
    hold: int | None = None,
) -> Appointment:
    """Book the slot ``slot_id`` names for ``person``, with its confirmation and reminders.

    ``hold`` is the waiting-list offer that keeps this time for ``person`` (see
    ``waiting.accept``); without it, a held time is as taken as a booked one.

    Raises :class:`InvalidSlot` for an id we did not issue, :class:`SlotUnavailable` when
    the plans no longer offer it and :class:`SlotTaken` when someone was quicker.
    """
    if channel not in APPOINTMENT_CHANNELS:
        raise ValueError("unknown booking channel {!r}".format(channel))
    if intake is not None and intake.person_id not in (None, person.id):
        raise ValueError("the intake belongs to someone else")
    slot = decode_slot(slot_id, policy.secret_key)
    lock(session, people_of(slot))
    _check_offered(session, policy, slot, now)
    check_free(session, slot, now, hold=hold)
    appointment = Appointment(
        person=person,
        intake_id=intake.id if intake is not None else None,
        **slot.columns(),
        status=BOOKED,
        channel=channel,
        created_at=now,
        updated_at=now,
        created_by_id=by.id if by is not None else None,
        revision=0,
        manage_token=secrets.token_urlsafe(24),
    )
    session.add(appointment)
    _flush(session, slot)
    notices.booked(session, appointment, person, policy, now)
    booked.send(appointment, session=session, now=now, policy=policy, hold=hold)
    return appointment


def _lock_booked(session: Session, appointment: Appointment, extra: list[int], now: datetime) -> None:
    """Lock everyone involved, then re-read the appointment: still booked, and not yet begun.

    Once it has begun, it is attended or missed (the staff calendar says which), not
    cancelled or moved, whoever asks.
    """
    lock(session, people_of(Slot.of(appointment)) + extra)
    session.refresh(appointment)
    if appointment.status != BOOKED:
        raise NotBooked("the appointment is {}".format(appointment.status))
    if appointment.starts_at <= now:
        raise NotBooked("the appointment has begun")


def cancel(
    session: Session,
    appointment: Appointment,
    *,
    now: datetime,
    policy: BookingPolicy,
    by: StaffMember | None = None,
    reason: str | None = None,
) -> Appointment:
    """Cancel a booked appointment: its time is free again and its pending reminders stop."""
    _lock_booked(session, appointment, [], now)
    appointment.status = CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by_id = by.id if by is not None else None
    appointment.cancel_reason = (reason or "")[:200] or None
    appointment.updated_at = now
    session.flush()
    notices.cancelled(session, appointment, appointment.person, policy, now)
    time_freed.send(appointment, session=session, now=now, policy=policy)
    return appointment


def reschedule(
    session: Session,
    appointment: Appointment,
    new_slot_id: str,
    *,
    now: datetime,
    policy: BookingPolicy,
    by: StaffMember | None = None,
) -> Appointment:
    """Move a booked appointment to another slot of the same service, under the same race rules.

    The old time is freed and the new one taken in one transaction; the reminders of the
    old time are cancelled and new ones planned, with a message saying it moved.
    """
    slot = decode_slot(new_slot_id, policy.secret_key)
    if slot.service_id != appointment.service_id:
        raise SlotUnavailable("an appointment moves to a slot of the same service")
    _lock_booked(session, appointment, people_of(slot), now)
    _check_offered(session, policy, slot, now)
    check_free(session, slot, now, ignore=appointment.id)
    for column, value in slot.columns().items():
        setattr(appointment, column, value)
    appointment.revision += 1
    appointment.updated_at = now
    _flush(session, slot)
    session.refresh(appointment)  # the office and people relationships follow the new ids
    notices.moved(session, appointment, appointment.person, policy, now)
    time_freed.send(appointment, session=session, now=now, policy=policy)
    return appointment


#: A manage link opens its appointment's page until this long after the appointment ends.
MANAGE_LINK_GRACE = timedelta(days=7)


class LinkExpired(BookingError):
    """The manage link belongs to an appointment that ended more than ``MANAGE_LINK_GRACE`` ago."""


def by_manage_token(session: Session, token: str, now: datetime) -> Appointment | None:
    """The appointment a manage link names; None for a token we never issued (or replaced).

    The token is random (192 bits), so it cannot be guessed; it stops working
    ``MANAGE_LINK_GRACE`` after the appointment ends (:class:`LinkExpired`), whatever its status.
    """
    if not token or len(token) > 64:
        return None
    appointment = session.scalar(select(Appointment).where(Appointment.manage_token == token))
    if appointment is not None and now > appointment.ends_at + MANAGE_LINK_GRACE:
        raise LinkExpired("the link expired")
    return appointment
