"""What becomes of a claimed message: its channel, and the rows that record each step.

Deciding and writing are kept apart: a sending thread chooses the channel from what was
read for its whole batch, turns the provider's answer into an :class:`Outcome` without
touching the database, and the dispatcher's pumping thread writes many outcomes in one
transaction (:func:`messaging.claims.write`), each only if the claim is still this
worker's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Container, Mapping

from messaging.channels.base import SendResult
from messaging.channels.twilio import ADDRESS_VERDICTS
from messaging.models import MessageStatus

if TYPE_CHECKING:
    from messaging.claims import Claimed, Lookups

WHATSAPP_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Choice:
    """The channel a message goes out on, to which address, and as which WhatsApp template."""

    channel: str
    address: str
    content_sid: str | None = None


def choose_channel(
    message: Claimed,
    excluded: list[str],
    found: Lookups,
    now: datetime,
    available: Container[str],
    whatsapp_templates: Mapping[tuple[str, str], str],
) -> Choice | None:
    """The first channel in the person's order that is usable for this message.

    WhatsApp is usable with free text inside the 24-hour window after the person
    last wrote to us, otherwise only with an approved template for the kind and
    language; without either it is skipped for the next channel.
    """
    addresses = {
        "sms": message.phone,
        "whatsapp": message.phone,
        "email": message.email,
        "webhook": message.webhook_url,
        "console": message.phone or message.email,
    }
    for name in message.channels:
        address = addresses.get(name)
        if name in excluded or not address or name not in available:
            continue
        if name != "webhook" and (name, address) in found.blocked:
            continue
        if name != "whatsapp":
            return Choice(name, address)
        last = found.whatsapp_last.get(address)
        if last is not None and now - last < WHATSAPP_WINDOW:
            return Choice(name, address)
        template = whatsapp_templates.get((message.kind, message.language))
        if template:
            return Choice(name, address, content_sid=template)
    return None


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> timedelta:
    """Exponential back-off with jitter: spread retries so a provider outage is not hammered."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed message, written only if the claim is still ours."""

    claimed: Claimed
    #: As :class:`messaging.dispatcher.DispatchReport` counts it: sent, transient, deferred...
    name: str
    #: Message columns to set; the claim itself is always cleared with them.
    changes: Mapping[str, Any]
    #: The status of the ``message_event`` written with them, if any.
    event: str | None = None
    error_code: str | None = None
    #: The ``message_attempt`` row: it happened, so it is kept even when the claim was lost.
    attempt: Mapping[str, Any] | None = None
    #: (channel, address, verdict, reason) to remember about the address.
    address: tuple[str, str, str, str | None] | None = None


def closed(message: Claimed, status: MessageStatus, error_code: str) -> Outcome:
    """Nothing more will happen to the message (too late, no channel, no text)."""
    name = "expired" if status == MessageStatus.EXPIRED else "failed"
    return Outcome(message, name, {"status": status.value, "error_code": error_code}, status.value, error_code)


def handed_back(message: Claimed, name: str, when: datetime, event: str | None = None, error_code: str | None = None) -> Outcome:
    """Pending again from ``when``, for any worker to claim."""
    return Outcome(message, name, {"status": MessageStatus.PENDING.value, "next_attempt_at": when}, event, error_code)


def attempted(
    message: Claimed,
    channel: str,
    worker_id: str,
    started: datetime,
    now: datetime,
    result: SendResult,
    *,
    recovered: bool,
    can_fall_back: Callable[[list[str]], bool],
    max_attempts: int,
    delay: Callable[[int], timedelta],
) -> Outcome:
    """One hand-over to a provider: its attempt row, and where the message goes next.

    Sent: done. A permanent error: the next channel in the person's order, if
    ``can_fall_back`` (given the channels now excluded) says there is one, else failed.
    Anything else: retried after ``delay(attempts)`` (or the provider's Retry-After,
    if longer), until ``max_attempts`` transient errors make it fail.
    """
    name: str = "recovered" if recovered else result.outcome
    attempt = {
        "message_id": message.id,
        "channel": channel,
        "worker": worker_id,
        "started_at": started,
        "finished_at": now,
        "outcome": name,
        "provider_id": result.provider_id,
        "error_code": result.error_code,
        "error_message": (result.error_message or "")[:300] or None,
    }
    changes: dict[str, Any] = {"channel": channel, "error_code": result.error_code}
    event, address = MessageStatus.FAILED.value, None
    if result.outcome == "sent":
        changes.update(status=MessageStatus.SENT.value, provider_id=result.provider_id, sent_at=now, in_doubt=False)
        event = MessageStatus.SENT.value
    elif result.outcome == "permanent":
        address = address_verdict(message, channel, result)
        excluded = [*message.excluded_channels, channel]
        changes.update(excluded_channels=excluded, in_doubt=False, status=MessageStatus.FAILED.value)
        if can_fall_back(excluded):
            changes.update(status=MessageStatus.PENDING.value, next_attempt_at=now)
            name = event = "fallback"
        else:
            name = "failed"
    else:
        attempts = message.attempts + 1
        changes.update(attempts=attempts, in_doubt=result.outcome == "unknown")
        if attempts >= max_attempts and result.outcome == "transient":
            changes.update(status=MessageStatus.FAILED.value)
            name = "failed"
        else:
            wait = delay(attempts)
            if result.retry_after:
                wait = max(wait, timedelta(seconds=result.retry_after))
            changes.update(status=MessageStatus.PENDING.value, next_attempt_at=now + wait)
            event = "retry"
    return Outcome(message, name, changes, event, result.error_code, attempt, address)


def address_verdict(message: Claimed, channel: str, result: SendResult) -> tuple[str, str, str, str | None] | None:
    """A permanent error that says "never on this channel again" is remembered for the address.

    For e-mail only a mailbox the receiving server refused at RCPT TO counts: a refused
    sender or content is our problem, not the address's.
    """
    error_code = result.error_code
    verdict = ADDRESS_VERDICTS.get(int(error_code)) if (error_code or "").isdigit() else None
    address = message.email if channel == "email" else message.phone
    if channel == "email" and (result.error_message or "").startswith("RCPT TO refused: 55"):
        verdict = "invalid"
    if verdict and address:
        return (channel, address, verdict, error_code)
    return None
