"""The messages an appointment sends, written into the outbox in the booking's transaction.

Nothing is sent from here: rows go into messaging's outbox inside the caller's
transaction, so a booking that rolls back leaves no message behind, and a committed one
always has its confirmation and reminders. Every message about an appointment carries
the subject key ``appointment:<id>``, which is how a cancellation stops the reminders
still waiting. Idempotency keys name the appointment and, once it has been moved, its
revision, so a moved appointment gets fresh reminders and a retried request none twice.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from babel.support import NullTranslations, Translations
from sqlalchemy.orm import Session

from messaging import outbox
from messaging.outbox import Recipient
from portal.appointments.models import Appointment
from portal.appointments.policy import BookingPolicy
from portal.i18n import TRANSLATIONS_DIR
from portal.people.models import Person
from portal.people.services import recipient


@lru_cache(maxsize=None)
def catalog(language: str) -> NullTranslations:
    """The compiled catalog of ``language`` (English msgids when there is none), loaded once.

    Messages are written in the person's language, not the page's, so Flask-Babel's
    request locale is no use here.
    """
    return Translations.load(str(TRANSLATIONS_DIR), [language], "messages")


def address(appointment: Appointment, language: str) -> str:
    """Where to go, or, for a phone appointment, that it is by phone (in the person's language)."""
    if appointment.mode == "phone_call":
        return catalog(language).gettext("by phone")
    office = appointment.office
    return "{}, {}".format(office.address, office.city)


def _context(appointment: Appointment, policy: BookingPolicy, language: str) -> dict[str, Any]:
    return {
        "start": appointment.starts_at.isoformat(),
        "address": address(appointment, language),
        "helpline": policy.helpline,
        "link": policy.manage_link(appointment.manage_token),
    }


def _key(appointment: Appointment, what: str) -> str:
    if appointment.revision:
        return "appointment:{}:r{}:{}".format(appointment.id, appointment.revision, what)
    return "appointment:{}:{}".format(appointment.id, what)


def _plan_reminders(
    session: Session, appointment: Appointment, policy: BookingPolicy, to: Recipient, context: dict[str, Any], now: datetime
) -> None:
    """A reminder for each offset that is useful: not past the start, not right after booking."""
    for label, when in policy.reminders.reminder_times(now, appointment.starts_at):
        outbox.enqueue(
            session,
            to,
            "appointment_reminder",
            context,
            send_at=when,
            idempotency_key=_key(appointment, "reminder:{}".format(label)),
            subject_key=appointment.subject_key,
            not_after=appointment.starts_at,
        )


def booked(session: Session, appointment: Appointment, person: Person, policy: BookingPolicy, now: datetime) -> None:
    """Confirmation now, reminders later; nothing at all for a person it is unsafe to message."""
    to = recipient(person)
    if to is None:
        return
    context = _context(appointment, policy, to.language)
    outbox.enqueue(
        session,
        to,
        "appointment_confirmation",
        context,
        send_at=now,
        idempotency_key=_key(appointment, "confirmation"),
        subject_key=appointment.subject_key,
        not_after=appointment.starts_at,
    )
    _plan_reminders(session, appointment, policy, to, context, now)


def moved(session: Session, appointment: Appointment, person: Person, policy: BookingPolicy, now: datetime) -> None:
    """Stop what was planned for the old time; announce the new one and plan its reminders.

    Call after the appointment's revision has been bumped, so the new keys are new.
    """
    outbox.cancel(session, appointment.subject_key)
    to = recipient(person)
    if to is None:
        return
    context = _context(appointment, policy, to.language)
    outbox.enqueue(
        session,
        to,
        "appointment_rescheduled",
        context,
        send_at=now,
        idempotency_key=_key(appointment, "rescheduled"),
        subject_key=appointment.subject_key,
        not_after=appointment.starts_at,
    )
    _plan_reminders(session, appointment, policy, to, context, now)


def cancelled(session: Session, appointment: Appointment, person: Person, policy: BookingPolicy, now: datetime) -> None:
    """Stop every message still waiting about the appointment and say it is cancelled."""
    outbox.cancel(session, appointment.subject_key)
    to = recipient(person)
    if to is None:
        return
    outbox.enqueue(
        session,
        to,
        "appointment_cancelled",
        {
            "start": appointment.starts_at.isoformat(),
            "helpline": policy.helpline,
            "link": policy.booking_link(),
        },
        send_at=now,
        idempotency_key=_key(appointment, "cancelled"),
        subject_key=appointment.subject_key,
    )
