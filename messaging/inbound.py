"""What comes back: delivery callbacks and people's replies.

Both are idempotent (providers deliver webhooks at least once) and neither moves a
message's delivery status backwards: a late "sent" never overwrites "delivered".
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from messaging.channels.twilio import ADDRESS_VERDICTS, RETRY_ONCE_CODES
from messaging.claims import record_address_status
from messaging.models import AddressStatus, InboundMessage, Message, MessageEvent, MessageStatus
from messaging.signals import delivery_updated, reply_received

KEYWORDS_FILE = Path(__file__).with_name("keywords.yaml")

#: Twilio's delivery statuses in the order they can happen; ties are final states.
STATUS_RANK = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}
#: Kinds whose replies mean "confirm" or "cancel".
ANSWERABLE_KINDS = frozenset({"appointment_confirmation", "appointment_reminder", "waiting_list_offer"})


def _fold(text: str) -> str:
    """Upper-case without accents or surrounding punctuation: "Sì!" and "si" match "SI"."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).strip(" .,;:!?¡¿。！？،؟۔\"'").upper()


@functools.lru_cache(maxsize=1)
def keywords() -> dict[str, frozenset[str]]:
    """The reply words of every language, folded, per intent."""
    with KEYWORDS_FILE.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return {
        intent: frozenset(_fold(str(word)) for words in by_language.values() for word in words)
        for intent, by_language in data.items()
    }


def classify(body: str, opted_out: bool) -> str:
    """opt_out | opt_in | confirm | cancel | other, for one reply."""
    word = _fold(body)
    words = keywords()
    if word in words["opt_out"]:
        return "opt_out"
    if word in words["opt_in"] or (opted_out and word in {"YES", "Y"}):
        return "opt_in"
    if word in words["confirm"]:
        return "confirm"
    if word in words["cancel"]:
        return "cancel"
    return "other"


@dataclass(frozen=True)
class Received:
    """What an inbound message turned out to be, and the answer to send back if any."""

    inbound: InboundMessage
    duplicate: bool
    answer: str | None = None


def receive(
    session: Session,
    provider_id: str,
    channel: str,
    from_address: str,
    to_address: str | None,
    body: str,
    now: datetime,
) -> Received:
    """Record one inbound message and act on it. Flushes, never commits."""
    existing = session.scalar(select(InboundMessage).where(InboundMessage.provider_id == provider_id))
    if existing is not None:
        return Received(existing, duplicate=True)
    last = session.scalar(
        select(Message)
        .where(Message.phone == from_address, Message.status == MessageStatus.SENT.value)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
    )
    opted_out = (
        session.scalar(
            select(AddressStatus.id).where(
                AddressStatus.channel == channel,
                AddressStatus.address == from_address,
                AddressStatus.status == "opted_out",
            )
        )
        is not None
    )
    intent = classify(body, opted_out)
    inbound = InboundMessage(
        provider_id=provider_id,
        channel=channel,
        from_address=from_address,
        to_address=to_address,
        body=body[:1600],
        received_at=now,
        recipient_key=last.recipient_key if last else None,
        in_reply_to_id=last.id if last else None,
        intent=intent,
        inbox_status="done",
    )
    session.add(inbound)
    session.flush()
    answer = None
    if intent == "opt_out":
        record_address_status(session, channel, from_address, "opted_out", _fold(body)[:40], now)
    elif intent == "opt_in":
        session.execute(
            delete(AddressStatus).where(
                AddressStatus.channel == channel,
                AddressStatus.address == from_address,
                AddressStatus.status == "opted_out",
            )
        )
    elif intent in ("confirm", "cancel") and last is not None and last.kind in ANSWERABLE_KINDS:
        answers = [
            result for _receiver, result in reply_received.send(inbound, intent=intent, message=last, session=session) if result
        ]
        answer = answers[0] if answers else None
        if answer is None:
            inbound.inbox_status = "open"  # nobody could act on it: an operator will
    else:
        inbound.inbox_status = "open"
    session.flush()
    return Received(inbound, duplicate=False, answer=answer)


def record_status(
    session: Session,
    message_id: int,
    provider_id: str | None,
    status: str,
    error_code: str | None,
    now: datetime,
) -> bool:
    """Apply one delivery callback; returns False when it was stale or not ours.

    Errors 30003/30008 (unreachable, unknown) earn one more try; errors that say the
    address is unusable record that, so the next message goes another way.
    """
    message = session.get(Message, message_id)
    if message is None or (provider_id and message.provider_id and provider_id != message.provider_id):
        return False
    status = status.lower()
    if STATUS_RANK.get(status, 0) <= STATUS_RANK.get(message.provider_status or "", 0):
        return False
    message.provider_status = status
    message.error_code = error_code or message.error_code
    session.add(MessageEvent(message_id=message.id, at=now, status=status, source="callback", error_code=error_code))
    code = int(error_code) if (error_code or "").isdigit() else None
    if status in ("undelivered", "failed") and code is not None:
        address = message.phone
        if code in RETRY_ONCE_CODES and not message.delivery_retried:
            message.delivery_retried = True
            _send_again(message, now)
        elif code in ADDRESS_VERDICTS and address and message.channel:
            record_address_status(session, message.channel, address, ADDRESS_VERDICTS[code], str(code), now)
            message.excluded_channels = [*message.excluded_channels, message.channel]
            _send_again(message, now)
    delivery_updated.send(message, status=status, error_code=error_code, session=session)
    session.flush()
    return True


def _send_again(message: Message, now: datetime) -> None:
    message.status = MessageStatus.PENDING.value
    message.next_attempt_at = now
    message.provider_status = None
