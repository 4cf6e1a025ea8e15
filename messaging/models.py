"""The outbox and what happened to each message.

A :class:`Message` is written in the caller's transaction (a booking and its reminders
commit together) and rendered only when it is sent. Workers claim messages in the
database with a lease, so several of them can run at once without sending one twice.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from messaging.db import MessagingBase, UTCDateTime, utcnow


class MessageStatus(enum.StrEnum):
    """Where a message stands in our outbox (the provider's own status is apart)."""

    PENDING = "pending"  #: waiting for its time, or for a retry
    SENDING = "sending"  #: claimed by a worker until ``claimed_until``
    SENT = "sent"  #: a provider accepted it
    FAILED = "failed"  #: no channel could take it, or retries ran out
    CANCELLED = "cancelled"  #: its subject went away (an appointment was cancelled...)
    EXPIRED = "expired"  #: it would have arrived too late to be useful


#: Statuses from which nothing more will happen.
FINAL_STATUSES = frozenset({MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.CANCELLED, MessageStatus.EXPIRED})


class Message(MessagingBase):
    """One message to one person, sent on the first channel that can take it."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_message_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The same key twice is one message (enqueue is idempotent).
    idempotency_key: Mapped[str] = mapped_column(String(200))
    #: What the message is about ("appointment:42"); cancel() works by it.
    subject_key: Mapped[str | None] = mapped_column(String(100), index=True)
    #: Who it is for, as the portal knows them ("person:7"); opaque to messaging.
    recipient_key: Mapped[str | None] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    #: Values the template needs; rendered at send time so they are always current.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Channels in the person's order of preference, e.g. ["whatsapp", "sms", "email"].
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Channels that failed permanently for this message: the next one is tried.
    excluded_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    #: The person's own safe hours for messages, "HH:MM-HH:MM" in the agency's zone.
    safe_hours: Mapped[str | None] = mapped_column(String(11))
    #: When it was asked to go out.
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Never deliver at or after this moment (e.g. the appointment's start).
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.PENDING)
    #: When a worker may next take it (send_at moved out of quiet hours, or a retry).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    #: The last hand-over may have reached the provider (a worker died mid-send, or the
    #: provider did not answer): ask the provider before sending again.
    in_doubt: Mapped[bool] = mapped_column(default=False)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The channel of the last attempt, and what the provider called the message.
    channel: Mapped[str | None] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The provider's delivery status from callbacks (queued, sent, delivered, read...).
    provider_status: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(40))
    #: Delivery errors that earn one more try (30003, 30008) were already retried.
    delivery_retried: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    attempts_log: Mapped[list["MessageAttempt"]] = relationship(
        back_populates="message", order_by="MessageAttempt.id", cascade="all, delete-orphan"
    )
    events: Mapped[list["MessageEvent"]] = relationship(
        back_populates="message", order_by="MessageEvent.id", cascade="all, delete-orphan"
    )


class MessageAttempt(MessagingBase):
    """One hand-over to a provider: when, on which channel, and what came back."""

    __tablename__ = "message_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: sent | transient | permanent | unknown | recovered (found at the provider after a crash)
    outcome: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(String(300))

    message: Mapped[Message] = relationship(back_populates="attempts_log")


class MessageEvent(MessagingBase):
    """The status history of a message, from us and from the provider's callbacks."""

    __tablename__ = "message_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    #: dispatcher | callback | staff | portal
    source: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(40))

    message: Mapped[Message] = relationship(back_populates="events")


class AddressStatus(MessagingBase):
    """What we know about one address on one channel: opted out, or unusable.

    Kept per address rather than per person because that is what providers report
    (a STOP from a number, a hard bounce from a mailbox) and what they enforce.
    """

    __tablename__ = "address_status"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(254))
    #: opted_out | invalid
    status: Mapped[str] = mapped_column(String(20))
    #: The keyword or provider error code that decided it.
    reason: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class InboundMessage(MessagingBase):
    """Something a person wrote to us (SMS or WhatsApp)."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The provider's id; a repeated webhook delivery is recognised by it.
    provider_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    from_address: Mapped[str] = mapped_column(String(254), index=True)
    to_address: Mapped[str | None] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The person, as the last message we sent to this address knew them.
    recipient_key: Mapped[str | None] = mapped_column(String(100), index=True)
    #: The message it answers (the latest one sent to this address), if any.
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    #: opt_out | opt_in | confirm | cancel | other
    intent: Mapped[str] = mapped_column(String(20))
    #: For "other": open until an operator deals with it.
    inbox_status: Mapped[str] = mapped_column(String(20), default="open")
    handled_by: Mapped[str | None] = mapped_column(String(100))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
