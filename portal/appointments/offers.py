"""Offers from the waiting list: which free time goes to whom, held until when.

:func:`offer_free_times` walks each service's line, first come first served, and gives
each person the earliest free time inside the waiting window that fits their choices
(office, way of meeting, language) and that they were never offered before. It runs

* in the same transaction as a cancellation or a move (``services.time_freed``, see
  ``waiting.py``), so a freed time reaches the line before anyone browsing can take it;
* every minute in the worker (job ``appointments.waiting_list``), which first expires
  unanswered offers (:func:`expire_offers`) and so passes their times to the next person,
  and notices times freed in other ways (a plan that gained hours).

Rules a person would expect:

* An offer is only made for a time that starts at least the minimum notice after the
  hold ends, so accepting it in time always succeeds.
* Quiet hours: an offer made at night is held from then on, its message goes out when
  messages may arrive, and the hold runs from that moment.
* An unanswered offer does not cost the person their place; after
  :data:`MAX_MISSED_OFFERS` unanswered offers the entry lapses.
* A time is made an offer with the staff rows locked, as a booking is, and the partial
  unique indexes of ``WaitingListOffer`` stop two offers holding one time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from messaging import outbox
from portal.appointments import services
from portal.appointments.models import HELD, WAITING, WaitingListEntry, WaitingListOffer
from portal.appointments.notices import address
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import Slot, SlotQuery, candidate_slots
from portal.people.services import recipient

#: Unanswered offers in a row after which a person leaves the line.
MAX_MISSED_OFFERS = 3


def _line(session: Session, service_id: int | None) -> list[WaitingListEntry]:
    """Waiting entries without a held offer, first come first served."""
    has_offer = exists().where(WaitingListOffer.entry_id == WaitingListEntry.id, WaitingListOffer.status == HELD)
    query = (
        select(WaitingListEntry)
        .where(WaitingListEntry.status == WAITING, ~has_offer)
        .options(selectinload(WaitingListEntry.person), selectinload(WaitingListEntry.service),
                 selectinload(WaitingListEntry.office))
    )
    if service_id is not None:
        query = query.where(WaitingListEntry.service_id == service_id)
    return list(session.scalars(query.order_by(WaitingListEntry.created_at, WaitingListEntry.id)))


def _offered_before(session: Session, entry: WaitingListEntry) -> set[tuple[int, datetime]]:
    """(staff, start) of every time this entry was offered: never offered twice."""
    rows = session.execute(
        select(WaitingListOffer.staff_id, WaitingListOffer.starts_at).where(WaitingListOffer.entry_id == entry.id)
    )
    return {(staff_id, starts_at) for staff_id, starts_at in rows}


def _hold_window(policy: BookingPolicy, entry: WaitingListEntry, now: datetime) -> tuple[datetime, datetime] | None:
    """When the offer's message can go out, and when the hold ends; None if never."""
    to = recipient(entry.person)
    if to is None:
        return None
    sent = now
    if policy.quiet is not None:
        allowed = policy.quiet.next_allowed(to.channels[0], now, to.safe_hours)
        if allowed is None:
            return None
        sent = allowed
    return sent, sent + policy.offer_hold


def _free_times(
    session: Session, policy: BookingPolicy, entry: WaitingListEntry, now: datetime, hold_ends: datetime
) -> list[Slot]:
    """The free times that fit ``entry``'s choices inside the window, bookable once the hold ends."""
    rules = replace(policy, min_notice=(hold_ends - now) + policy.min_notice)
    latest = now + policy.waiting_after
    query = SlotQuery(
        service=entry.service,
        office=entry.office,
        mode=entry.mode,
        language=entry.language,
        last_day=latest.astimezone(policy.timezone).date(),
    )
    return [slot for slot in candidate_slots(session, rules, query, now, limit=None) if slot.start <= latest]


def _first_unseen(session: Session, entry: WaitingListEntry, free: list[Slot]) -> Slot | None:
    """The earliest of ``free`` never offered to ``entry`` before."""
    if not free:
        return None
    seen = _offered_before(session, entry)
    return next((slot for slot in free if (slot.staff_id, slot.start) not in seen), None)


def _make_offer(
    session: Session, policy: BookingPolicy, entry: WaitingListEntry, slot: Slot, now: datetime, sent: datetime,
    expires: datetime,
) -> WaitingListOffer | None:
    """Hold ``slot`` for ``entry`` and tell them; None when someone took it meanwhile."""
    savepoint = session.begin_nested()
    try:
        services.lock(session, services.people_of(slot))
        services.check_free(session, slot, now)
        offer = WaitingListOffer(
            entry=entry,
            **slot.columns(),
            status=HELD,
            created_at=now,
            expires_at=expires,
        )
        session.add(offer)
        session.flush()
    except (services.SlotTaken, IntegrityError):
        savepoint.rollback()
        return None
    savepoint.commit()
    session.refresh(offer)
    to = recipient(entry.person)
    assert to is not None  # _hold_window checked it
    outbox.enqueue(
        session,
        to,
        "waiting_list_offer",
        {
            "start": offer.starts_at.isoformat(),
            "address": address(offer, to.language),  # type: ignore[arg-type]
            "minutes": int(policy.offer_hold.total_seconds() // 60),
            "link": policy.waiting_link(entry.manage_token),
        },
        send_at=sent,
        idempotency_key="waiting_offer:{}".format(offer.id),
        subject_key=offer.subject_key,
        not_after=expires,
    )
    return offer


def offer_free_times(session: Session, now: datetime, policy: BookingPolicy, service_id: int | None = None) -> int:
    """Expire what ran out, then offer free times to the people in line; how many offers were made.

    Each person in line (first come first served) gets the earliest free time that fits
    their choices, within the waiting window. Flushes only.
    """
    expire_offers(session, now)
    made = 0
    # People asking for the same thing share one search, so a long line with nothing
    # free costs a search per kind of request, not per person (bench/waiting_list_sweep.py).
    searched: dict[tuple[Any, ...], list[Slot]] = {}
    for entry in _line(session, service_id):
        window = _hold_window(policy, entry, now)
        if window is None:
            continue
        sent, expires = window
        key = (entry.service_id, entry.office_id, entry.mode, entry.language, expires)
        if key not in searched:
            searched[key] = _free_times(session, policy, entry, now, expires)
        slot = _first_unseen(session, entry, searched[key])
        if slot is not None and _make_offer(session, policy, entry, slot, now, sent, expires) is not None:
            made += 1
            searched.clear()  # that time is held now: search again for whoever comes next
    return made


def expire_offers(session: Session, now: datetime) -> int:
    """Held offers past their time become expired; a person who missed too many leaves the line."""
    offers = list(
        session.scalars(
            select(WaitingListOffer).where(WaitingListOffer.status == HELD, WaitingListOffer.expires_at <= now)
        )
    )
    for offer in offers:
        offer.status = "expired"
        outbox.cancel(session, offer.subject_key)
        entry = offer.entry
        entry.missed_offers += 1
        entry.updated_at = now
        if entry.status == WAITING and entry.missed_offers >= MAX_MISSED_OFFERS:
            entry.status = "lapsed"
    session.flush()
    return len(offers)


def withdraw(session: Session, entry: WaitingListEntry, now: datetime) -> int:
    """Release what is held for ``entry`` and stop its offer messages; how many were held."""
    offers = list(session.scalars(
        select(WaitingListOffer).where(WaitingListOffer.entry_id == entry.id, WaitingListOffer.status == HELD)
    ))
    for offer in offers:
        offer.status = "withdrawn"
        offer.answered_at = now
        outbox.cancel(session, offer.subject_key)
    return len(offers)
