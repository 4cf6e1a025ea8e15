"""The waiting list: an earlier time for people who found none soon enough.

When nothing is free within ``policy.waiting_after`` (``WAITING_LIST_AFTER_DAYS``), a
person may join the service's line instead of booking (:func:`join`). A free time inside
that window is offered to the first person in line whose choices it fits and *held* for
them (nobody else can book it) for ``policy.offer_hold`` (``WAITING_LIST_HOLD_MINUTES``);
a ``waiting_list_offer`` message tells them (``offers.py`` decides who gets what). They
accept by replying "1" or on the page the message links to (:func:`accept`), which books
it like any booking; "2" declines (:func:`decline`) and keeps their place.

* A person who may not be messaged (they said it is not safe) cannot join: an offer
  they never hear of would only delay everyone behind them.
* A declined time is never offered to the same person again.
* A person in line who books the service another way (online, through an operator)
  leaves the line as served (``services.booked``), releasing any time held for them.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from messaging import outbox
from portal.agency.models import Office, Service
from portal.appointments import services
from portal.appointments.offers import offer_free_times, withdraw
from portal.appointments.models import (
    APPOINTMENT_CHANNELS,
    HELD,
    MODES,
    WAITING,
    Appointment,
    WaitingListEntry,
    WaitingListOffer,
)
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import Slot, SlotQuery, candidate_slots, encode_slot, search_language
from portal.auth.models import StaffMember
from portal.intake.models import Intake
from portal.people.models import Person
from portal.people.services import recipient

log = logging.getLogger(__name__)

class WaitingListError(services.BookingError):
    """Joining, accepting or leaving could not be done; roll the transaction back."""


class NotReachable(WaitingListError):
    """The person may not be messaged, so an offer could never reach them."""


class OfferGone(WaitingListError):
    """The offer is no longer held for the person: answered already, expired or withdrawn."""


def first_free(
    session: Session,
    policy: BookingPolicy,
    service: Service,
    now: datetime,
    *,
    office: Office | None = None,
    mode: str | None = None,
    language: str | None = None,
) -> Slot | None:
    """The earliest free time for these choices within the booking horizon, or None."""
    query = SlotQuery(service=service, office=office, mode=mode, language=language)
    found = candidate_slots(session, policy, query, now, limit=1)
    return found[0] if found else None


def nothing_soon(first: datetime | None, now: datetime, policy: BookingPolicy) -> bool:
    """True when the first free time (None: there is none) is beyond ``policy.waiting_after``."""
    return first is None or first > now + policy.waiting_after


def may_join(session: Session, policy: BookingPolicy, service: Service, now: datetime, **choices: Any) -> bool:
    """True when nothing is free for these choices within ``policy.waiting_after``."""
    first = first_free(session, policy, service, now, **choices)
    return nothing_soon(first.start if first is not None else None, now, policy)


def join(
    session: Session,
    person: Person,
    service: Service,
    *,
    now: datetime,
    policy: BookingPolicy,
    office: Office | None = None,
    mode: str | None = None,
    language: str | None = None,
    channel: str = "web",
    by: StaffMember | None = None,
    intake: Intake | None = None,
    reason: str | None = None,
) -> WaitingListEntry:
    """Put ``person`` in ``service``'s line (once: joining again returns their entry).

    Sends a ``waiting_list_joined`` message with the link to their place in line, and
    offers at once any time already free (an operator may add someone while there is one).
    Raises :class:`NotReachable` when nothing may be sent to the person. Flushes only.
    """
    if channel not in APPOINTMENT_CHANNELS:
        raise ValueError("unknown channel {!r}".format(channel))
    if mode is not None and mode not in MODES:
        raise ValueError("unknown mode {!r}".format(mode))
    if person.id is not None:
        existing = session.scalar(
            select(WaitingListEntry).where(
                WaitingListEntry.person_id == person.id,
                WaitingListEntry.service_id == service.id,
                WaitingListEntry.status == WAITING,
            )
        )
        if existing is not None:
            return existing
    if recipient(person) is None:
        raise NotReachable("nothing may be sent to this person")
    entry = WaitingListEntry(
        person=person,
        intake_id=intake.id if intake is not None else None,
        service=service,
        office=office,
        mode=mode,
        language=search_language(language),  # the default language asks for nothing
        status=WAITING,
        channel=channel,
        created_at=now,
        updated_at=now,
        created_by_id=by.id if by is not None else None,
        reason=(reason or "").strip()[:300] or None,
        manage_token=secrets.token_urlsafe(24),
    )
    session.add(entry)
    session.flush()
    to = recipient(person)  # now with the person's id as its key
    assert to is not None
    outbox.enqueue(
        session,
        to,
        "waiting_list_joined",
        {"helpline": policy.helpline, "link": policy.waiting_link(entry.manage_token)},
        send_at=now,
        idempotency_key="waiting:{}:joined".format(entry.id),
        subject_key=entry.subject_key,
    )
    offer_free_times(session, now, policy, service_id=service.id)
    return entry


def by_token(session: Session, token: str) -> WaitingListEntry | None:
    """The entry a waiting-list link names; None for a token we never issued."""
    if not token or len(token) > 64:
        return None
    return session.scalar(select(WaitingListEntry).where(WaitingListEntry.manage_token == token))


def position(session: Session, entry: WaitingListEntry) -> int | None:
    """1 for the first in line; None when the entry is no longer waiting."""
    if entry.status != WAITING:
        return None
    ahead = session.scalar(
        select(func.count(WaitingListEntry.id)).where(
            WaitingListEntry.service_id == entry.service_id,
            WaitingListEntry.status == WAITING,
            (WaitingListEntry.created_at < entry.created_at)
            | and_(WaitingListEntry.created_at == entry.created_at, WaitingListEntry.id < entry.id),
        )
    )
    return int(ahead or 0) + 1


def accepted_offer(session: Session, entry: WaitingListEntry) -> WaitingListOffer | None:
    """The offer ``entry`` accepted, if its wait ended that way (and not by a booking made otherwise)."""
    return session.scalar(
        select(WaitingListOffer).where(WaitingListOffer.entry_id == entry.id, WaitingListOffer.status == "accepted")
    )


def held_offer(session: Session, entry: WaitingListEntry, now: datetime) -> WaitingListOffer | None:
    """The offer held for ``entry`` right now, if any."""
    return session.scalar(
        select(WaitingListOffer).where(
            WaitingListOffer.entry_id == entry.id,
            WaitingListOffer.status == HELD,
            WaitingListOffer.expires_at > now,
        )
    )


def accept(
    session: Session, offer: WaitingListOffer, *, now: datetime, policy: BookingPolicy, by: StaffMember | None = None
) -> Appointment:
    """Book the held time for the person: the usual confirmation and reminders follow.

    ``by`` is the operator who accepts for a caller (the booking's author, channel
    ``phone``); without it the person accepted, on the channel they joined by.

    Raises :class:`OfferGone` when the offer is no longer held for them, and the booking
    errors when the time cannot be booked after all (the plans changed meanwhile).
    """
    session.refresh(offer)
    entry = offer.entry
    if offer.status != HELD or offer.expires_at <= now or entry.status != WAITING:
        raise OfferGone("the offer is {}".format(offer.status))
    intake = session.get(Intake, entry.intake_id) if entry.intake_id is not None else None
    appointment = services.book(
        session, encode_slot(Slot.of(offer), policy.secret_key), entry.person, now=now, policy=policy,
        intake=intake, channel="phone" if by is not None else entry.channel, by=by, hold=offer.id,
    )
    appointment.reason = entry.reason
    offer.status = "accepted"
    offer.answered_at = now
    offer.appointment_id = appointment.id
    entry.status = "booked"
    entry.appointment_id = appointment.id
    entry.missed_offers = 0
    entry.updated_at = now
    outbox.cancel(session, offer.subject_key)
    session.flush()
    return appointment


def decline(session: Session, offer: WaitingListOffer, *, now: datetime, policy: BookingPolicy) -> None:
    """The person does not want this time: they keep their place and it goes to the next in line."""
    session.refresh(offer)
    if offer.status != HELD or offer.expires_at <= now:
        raise OfferGone("the offer is {}".format(offer.status))
    offer.status = "declined"
    offer.answered_at = now
    offer.entry.missed_offers = 0
    offer.entry.updated_at = now
    outbox.cancel(session, offer.subject_key)
    session.flush()
    offer_free_times(session, now, policy, service_id=offer.service_id)


def leave(
    session: Session, entry: WaitingListEntry, *, now: datetime, policy: BookingPolicy, by: StaffMember | None = None
) -> None:
    """Take ``entry`` out of the line; a time held for it goes to the next person."""
    if entry.status != WAITING:
        raise WaitingListError("the entry is {}".format(entry.status))
    entry.status = "left"
    entry.updated_at = now
    outbox.cancel(session, entry.subject_key)
    withdraw(session, entry, now)
    session.flush()
    log.info("waiting-list entry %s left%s", entry.id, " (staff {})".format(by.id) if by is not None else "")
    offer_free_times(session, now, policy, service_id=entry.service_id)


def offer_id(subject_key: str | None) -> int | None:
    """42 for ``waiting_offer:42``; None for any other subject."""
    kind, _, ident = (subject_key or "").partition(":")
    return int(ident) if kind == "waiting_offer" and ident.isdigit() else None


@services.time_freed.connect
def _on_time_freed(appointment: Appointment, *, session: Session, now: datetime, policy: BookingPolicy, **_: Any) -> None:
    """A cancelled or moved appointment: offer its old time to the line at once."""
    offer_free_times(session, now, policy, service_id=appointment.service_id)


@services.booked.connect
def _on_booked(
    appointment: Appointment, *, session: Session, now: datetime, policy: BookingPolicy, hold: int | None, **_: Any
) -> None:
    """Someone in line booked the service another way (online, by phone): their wait is over.

    A time held for them is released to the next person. An offer being accepted
    (``hold``) closes its entry in :func:`accept` instead.
    """
    if hold is not None:
        return
    entry = session.scalar(
        select(WaitingListEntry).where(
            WaitingListEntry.person_id == appointment.person_id,
            WaitingListEntry.service_id == appointment.service_id,
            WaitingListEntry.status == WAITING,
        )
    )
    if entry is None:
        return
    entry.status = "booked"
    entry.appointment_id = appointment.id
    entry.updated_at = now
    released = withdraw(session, entry, now)
    session.flush()
    if released:
        offer_free_times(session, now, policy, service_id=entry.service_id)


def waiting_list_job(session: Session, now: datetime) -> int:
    """The worker's job: expire unanswered offers and offer free times to the people in line."""
    return offer_free_times(session, now, BookingPolicy.from_config(current_app.config["PORTA"]))
