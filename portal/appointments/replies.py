"""Confirming and cancelling an appointment by replying to its messages.

A person answers a confirmation or a reminder with "1" (or "sì", "yes"…) to confirm and
"2" ("no", "annulla"…) to cancel. Messaging classifies the reply and sends
``reply_received`` with the message it answers; that message's subject key,
``appointment:<id>``, names the appointment. The receiver acts only when the reply comes
from the person the message was for, and only on an appointment still to come; anything
else returns None, and messaging leaves the reply open in the operator inbox.

No column records a confirmation. The reply itself does: it is closed (inbox status
``done``) with ``handled_by`` set to ``appointment:<id>:confirmed``, and
:func:`confirmations` reads those back. A confirmation given before the appointment last
changed (it was moved) does not count: the new time has not been confirmed yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from flask import Flask, current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.models import InboundMessage, Message
from messaging.signals import reply_received
from portal.appointments import services, waiting
from portal.appointments.models import BOOKED, CANCELLED, WAITING, Appointment, WaitingListOffer
from portal.appointments.notices import catalog
from portal.appointments.policy import BookingPolicy

#: ``handled_by`` of a reply that confirmed or cancelled an appointment.
CONFIRMED_BY_REPLY = "appointment:{}:confirmed"
CANCELLED_BY_REPLY = "appointment:{}:cancelled"
#: ``handled_by`` of a reply that answered a waiting-list offer.
ACCEPTED_BY_REPLY = "waiting_offer:{}:accepted"
DECLINED_BY_REPLY = "waiting_offer:{}:declined"
GONE_BY_REPLY = "waiting_offer:{}:too_late"
#: ``cancel_reason`` of an appointment the person cancelled by replying.
REPLY_REASON = "reply"
_POLICY = "appointments.reply_policy"


def init_app(app: Flask) -> None:
    """Answer replies about appointments for this app (connecting twice is harmless)."""
    app.extensions[_POLICY] = BookingPolicy.from_config(app.config["PORTA"])
    reply_received.connect(on_reply)


def appointment_id(subject_key: str | None) -> int | None:
    """42 for ``appointment:42``; None for any other subject."""
    kind, _, ident = (subject_key or "").partition(":")
    return int(ident) if kind == "appointment" and ident.isdigit() else None


def on_reply(inbound: InboundMessage, *, intent: str, message: Message, session: Session, **_: Any) -> str | None:
    """The ``reply_received`` receiver: the app's booking rules, then :func:`answer_reply`."""
    if not has_app_context() or _POLICY not in current_app.extensions:
        return None  # another app, or none: leave the reply to an operator
    return answer_reply(session, inbound, intent, message, current_app.extensions[_POLICY])


def answer_reply(
    session: Session, inbound: InboundMessage, intent: str, message: Message, policy: BookingPolicy
) -> str | None:
    """Confirm or cancel the appointment ``message`` is about; the answer text, or None.

    The answer is in the language the message was written in. None means nothing was
    done (not an appointment, not this person's, already past or no longer booked), and
    the reply stays open for an operator. A reply to a waiting-list offer accepts ("1")
    or declines ("2") it (:func:`answer_offer`). Flushes only.
    """
    offer = waiting.offer_id(message.subject_key)
    if offer is not None:
        return answer_offer(session, inbound, intent, message, offer, policy)
    ident = appointment_id(message.subject_key)
    appointment = session.get(Appointment, ident) if ident is not None else None
    if appointment is None or message.recipient_key not in (None, "person:{}".format(appointment.person_id)):
        return None
    now = inbound.received_at
    texts = catalog(message.language)
    if intent == "cancel" and appointment.status == CANCELLED:
        _close(inbound, CANCELLED_BY_REPLY.format(appointment.id), now)
        return texts.gettext("This appointment was already cancelled.")
    if appointment.status != BOOKED or appointment.starts_at <= now:
        return None
    if intent == "confirm":
        _close(inbound, CONFIRMED_BY_REPLY.format(appointment.id), now)
        return texts.gettext("Thank you: your appointment is confirmed.")
    if intent == "cancel":
        try:
            services.cancel(session, appointment, now=now, policy=policy, reason=REPLY_REASON)
        except services.NotBooked:
            return None
        _close(inbound, CANCELLED_BY_REPLY.format(appointment.id), now)
        return texts.gettext("Your appointment is cancelled. You will receive a message with how to book again.")
    return None


def answer_offer(
    session: Session, inbound: InboundMessage, intent: str, message: Message, offer_id: int, policy: BookingPolicy
) -> str | None:
    """Accept or decline a waiting-list offer by reply; the answer text, or None for an operator."""
    offer = session.get(WaitingListOffer, offer_id)
    if offer is None or message.recipient_key not in (None, "person:{}".format(offer.entry.person_id)):
        return None
    if intent not in ("confirm", "cancel"):
        return None
    now = inbound.received_at
    texts = catalog(message.language)
    try:
        if intent == "confirm":
            waiting.accept(session, offer, now=now, policy=policy)
            _close(inbound, ACCEPTED_BY_REPLY.format(offer.id), now)
            return texts.gettext("Thank you: the appointment is yours. We are sending you the confirmation.")
        waiting.decline(session, offer, now=now, policy=policy)
    except services.BookingError:  # the offer ran out or was answered, or the time went meanwhile
        _close(inbound, GONE_BY_REPLY.format(offer.id), now)
        if offer.entry.status == WAITING:
            return texts.gettext("Sorry: that time is no longer kept for you. You keep your place on the waiting list.")
        return texts.gettext("Sorry: that time is no longer kept for you.")
    _close(inbound, DECLINED_BY_REPLY.format(offer.id), now)
    return texts.gettext("All right: you keep your place on the waiting list.")


def _close(inbound: InboundMessage, note: str, now: datetime) -> None:
    """Out of the operator inbox, saying what the reply did."""
    inbound.inbox_status = "done"
    inbound.handled_by = note
    inbound.handled_at = now


def confirmations(session: Session, appointments: Iterable[Appointment]) -> dict[int, datetime]:
    """Appointment id → when the person confirmed its current time by reply (if they did)."""
    by_note = {CONFIRMED_BY_REPLY.format(a.id): a for a in appointments}
    if not by_note:
        return {}
    found: dict[int, datetime] = {}
    rows = session.execute(
        select(InboundMessage.handled_by, InboundMessage.received_at).where(InboundMessage.handled_by.in_(by_note))
    )
    for note, received_at in rows:
        appointment = by_note[note]
        if received_at >= appointment.updated_at and (appointment.id not in found or received_at > found[appointment.id]):
            found[appointment.id] = received_at
    return found
