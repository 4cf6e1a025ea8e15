"""Putting messages in the outbox, and taking them out again.

Every function works inside the caller's transaction and never commits: a booking and
its reminders are written together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from messaging.db import utcnow
from messaging.models import Message, MessageEvent, MessageStatus

#: Every channel messaging knows; a recipient lists the ones they accept, in order.
CHANNELS = ("whatsapp", "sms", "email", "webhook", "console")


@dataclass(frozen=True)
class Recipient:
    """Who a message is for and how they may be reached.

    ``key`` is the portal's own name for the person ("person:7"); messaging keeps it so
    that replies and delivery news can be tied back to them.
    """

    key: str | None
    language: str
    phone: str | None = None
    email: str | None = None
    webhook_url: str | None = None
    #: In order of preference; permanent failures move on to the next.
    channels: Sequence[str] = field(default_factory=lambda: ("sms", "email"))
    #: "HH:MM-HH:MM": the only hours at which this person wants messages.
    safe_hours: str | None = None


def enqueue(
    session: Session,
    recipient: Recipient,
    kind: str,
    context: dict[str, Any],
    send_at: datetime,
    idempotency_key: str,
    subject_key: str | None = None,
    channels: Sequence[str] | None = None,
    not_after: datetime | None = None,
) -> Message:
    """Write one message into the outbox; the same idempotency key twice is one message.

    Quiet hours are applied when the message is claimed, not here, so a change of policy
    applies to everything still waiting.
    """
    chosen = list(channels if channels is not None else recipient.channels)
    unknown = [c for c in chosen if c not in CHANNELS]
    if unknown or not chosen:
        raise ValueError("channels must be a non-empty list among {}".format(", ".join(CHANNELS)))
    if send_at.tzinfo is None:
        raise ValueError("send_at must be timezone-aware")
    now = utcnow()
    values = {
        "idempotency_key": idempotency_key,
        "subject_key": subject_key,
        "recipient_key": recipient.key,
        "kind": kind,
        "language": recipient.language,
        "context": context,
        "channels": chosen,
        "excluded_channels": [],
        "phone": recipient.phone,
        "email": recipient.email,
        "webhook_url": recipient.webhook_url,
        "safe_hours": recipient.safe_hours,
        "send_at": send_at,
        "not_after": not_after,
        "status": MessageStatus.PENDING.value,
        "next_attempt_at": send_at,
        "attempts": 0,
        "delivery_retried": False,
        "in_doubt": False,
        "created_at": now,
        "updated_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(Message).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"]))
    message = session.scalars(
        select(Message).where(Message.idempotency_key == idempotency_key).execution_options(populate_existing=True)
    ).one()
    return message


def cancel(session: Session, subject_key: str, source: str = "portal") -> int:
    """Cancel whatever is still waiting to be sent about ``subject_key``; returns how many.

    A message a worker is sending at this very moment is not stopped (it may already be
    at the provider); everything pending is.
    """
    ids = list(
        session.scalars(
            update(Message)
            .where(Message.subject_key == subject_key, Message.status == MessageStatus.PENDING.value)
            .values(status=MessageStatus.CANCELLED.value, updated_at=utcnow())
            .returning(Message.id)
        )
    )
    now = utcnow()
    session.add_all(
        MessageEvent(message_id=message_id, at=now, status=MessageStatus.CANCELLED.value, source=source)
        for message_id in ids
    )
    session.flush()
    return len(ids)


def needs_attention(now: datetime):  # type: ignore[no-untyped-def]
    """Messages a person should look at: failed, or stuck (in doubt, or held by a worker
    whose lease ran out and that no other worker has taken over)."""
    return or_(
        Message.status == MessageStatus.FAILED.value,
        and_(Message.status == MessageStatus.PENDING.value, Message.in_doubt.is_(True)),
        and_(Message.status == MessageStatus.SENDING.value, Message.claimed_until < now),
    )


def retry(session: Session, message_id: int, now: datetime, actor: str) -> bool:
    """Put a failed or stuck message back in the queue, due now; False if it is neither.

    Attempts are kept. Channels excluded by permanent errors are tried again (whatever
    was wrong may have been fixed), while addresses known to be opted out or invalid stay
    blocked. A message that may already be at the provider stays *in doubt*, so the
    dispatcher asks the provider before sending it again. ``actor`` names who asked
    ("staff:7"), opaque to messaging, and is recorded as the event's source.
    """
    retried = session.scalar(
        update(Message)
        .where(Message.id == message_id, needs_attention(now))
        .values(
            # evaluated on the old row: a worker whose lease ran out may have sent it
            in_doubt=case((Message.status == MessageStatus.SENDING.value, True), else_=Message.in_doubt),
            status=MessageStatus.PENDING.value,
            next_attempt_at=now,
            claimed_by=None,
            claimed_until=None,
            excluded_channels=[],
            updated_at=now,
        )
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    if retried is None:
        return False
    session.add(MessageEvent(message_id=message_id, at=now, status="requeued", source=actor[:20]))
    session.flush()
    return True
