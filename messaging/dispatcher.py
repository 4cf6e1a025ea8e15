"""Claiming due messages in the database and handing them to their channels.

Several dispatchers (threads, processes, machines) may run against one database. A
message is claimed with a lease by one conditional ``UPDATE … RETURNING`` (on
PostgreSQL its candidate rows are locked ``FOR UPDATE SKIP LOCKED``), so no two workers
hold it at once. A worker that dies leaves its lease to run out; the next claim marks
the message *in doubt*, and before sending it again the dispatcher asks the provider
whether it already took it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Callable, Protocol

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from messaging.channels.base import Channel, Outgoing, SendResult
from messaging.channels.twilio import ADDRESS_VERDICTS
from messaging.db import utcnow
from messaging.models import AddressStatus, InboundMessage, Message, MessageAttempt, MessageEvent, MessageStatus
from messaging.policy import QuietHours

log = logging.getLogger("messaging.dispatcher")

WHATSAPP_WINDOW = timedelta(hours=24)


class Rendering(Protocol):
    """What the dispatcher needs from the template renderer."""

    def render(self, kind: str, language: str, context: dict, channel: str):  # type: ignore[no-untyped-def]
        """Return an object with body, subject, html and content_variables."""
        ...


@dataclass(frozen=True)
class DispatchSettings:
    """How one dispatcher behaves; the defaults suit a municipality's volumes."""

    worker_id: str
    batch_size: int = 100
    #: Sends in flight at once (providers answer in tens of milliseconds).
    concurrency: int = 16
    lease: timedelta = timedelta(minutes=2)
    max_attempts: int = 6
    backoff_base: float = 30.0
    backoff_cap: float = 3600.0
    #: Messages per second per channel; 0 or absent means unlimited.
    rates: dict[str, float] = field(default_factory=dict)
    #: WhatsApp Content template per (kind, language), for messages we start.
    whatsapp_templates: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class DispatchReport:
    """What one pass did, for logs and tests."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    released: int = 0

    def add(self, outcome: str) -> None:
        """Count one message's outcome."""
        if outcome in ("sent", "recovered"):
            self.sent += 1
        elif outcome in ("transient", "unknown", "fallback"):
            self.retried += 1
        elif outcome in ("failed", "expired"):
            self.failed += 1
        elif outcome == "deferred":
            self.deferred += 1
        elif outcome == "released":
            self.released += 1


@dataclass(frozen=True)
class Choice:
    """The channel a message goes out on, to which address, and as which WhatsApp template."""

    channel: str
    address: str
    content_sid: str | None = None


class RateLimiter:
    """A token bucket per channel, shared by the threads of one dispatcher."""

    def __init__(self, rates: dict[str, float]) -> None:
        self.rates = {name: rate for name, rate in rates.items() if rate > 0}
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        """Block until the channel may send one more message."""
        rate = self.rates.get(channel)
        if rate is None:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(channel, now))
            self._next[channel] = slot + 1.0 / rate
        if slot > now:
            time.sleep(slot - now)


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> timedelta:
    """Exponential back-off with jitter: spread retries so a provider outage is not hammered."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return or_(
        and_(Message.status == MessageStatus.PENDING.value, Message.next_attempt_at <= now),
        and_(Message.status == MessageStatus.SENDING.value, Message.claimed_until < now),
    )


class Dispatcher:
    """Claims due messages and sends them with bounded concurrency."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channels: dict[str, Channel],
        renderer: Rendering,
        quiet_hours: QuietHours,
        settings: DispatchSettings,
        status_callback: Callable[[int, str], str | None] = lambda _id, _channel: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.renderer = renderer
        self.quiet_hours = quiet_hours
        self.settings = settings
        self.status_callback = status_callback
        self.clock = clock
        self.limiter = RateLimiter(settings.rates)
        self.stopping = threading.Event()
        self._rng = random.Random()
        self._pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="dispatch")

    # --- claiming ---------------------------------------------------------------------

    def claim(self, limit: int | None = None) -> list[int]:
        """Claim up to ``limit`` due messages for this worker; commits at once."""
        now = self.clock()
        limit = limit or self.settings.batch_size
        with self.sessions() as session:
            candidates = select(Message.id).where(_due(now)).order_by(Message.next_attempt_at, Message.id).limit(limit)
            claim = update(Message)
            if session.get_bind().dialect.name == "postgresql":
                # Materialised, so the candidate query runs exactly once: as a plain
                # IN (subquery) the planner may re-run it per row and claim far more
                # than ``limit`` (each run skipping the rows the last one locked).
                chosen = candidates.with_for_update(skip_locked=True).cte("candidates").prefix_with("MATERIALIZED")
                claim = claim.where(Message.id == chosen.c.id, _due(now))
            else:
                claim = claim.where(Message.id.in_(candidates.scalar_subquery()), _due(now))
            claimed = session.scalars(
                claim.values(
                    # evaluated on the old row: a lease that ran out may have sent already
                    in_doubt=case((Message.status == MessageStatus.SENDING.value, True), else_=Message.in_doubt),
                    status=MessageStatus.SENDING.value,
                    claimed_by=self.settings.worker_id,
                    claimed_until=now + self.settings.lease,
                    updated_at=now,
                )
                .returning(Message.id)
                .execution_options(synchronize_session=False)
            ).all()
            session.commit()
        return list(claimed)

    def run_once(self) -> DispatchReport:
        """One pass: claim a batch, send it, record every outcome; returns the counts."""
        report = DispatchReport()
        ids = self.claim()
        report.claimed = len(ids)
        for outcome in self._pool.map(self._process_safely, ids):
            report.add(outcome)
        return report

    def drain(self, max_passes: int = 1000) -> DispatchReport:
        """Pass after pass until nothing is due (for ``--once`` runs and tests)."""
        total = DispatchReport()
        for _ in range(max_passes):
            report = self.run_once()
            for counter in fields(DispatchReport):
                setattr(total, counter.name, getattr(total, counter.name) + getattr(report, counter.name))
            if report.claimed == 0 or self.stopping.is_set():
                break
        return total

    def close(self) -> None:
        """Finish what is in flight, then release the thread pool."""
        self._pool.shutdown(wait=True)

    # --- one message ------------------------------------------------------------------

    def _process_safely(self, message_id: int) -> str:
        try:
            return self.process(message_id)
        except Exception:  # a bug must not leave the message claimed until its lease ends
            log.exception("dispatching message %s failed unexpectedly", message_id)
            self._release(message_id, delay=timedelta(seconds=self.settings.backoff_base))
            return "released"

    def _release(self, message_id: int, delay: timedelta = timedelta(0)) -> None:
        with self.sessions() as session:
            session.execute(
                update(Message)
                .where(
                    Message.id == message_id,
                    Message.claimed_by == self.settings.worker_id,
                    Message.status == MessageStatus.SENDING.value,
                )
                .values(
                    status=MessageStatus.PENDING.value,
                    claimed_by=None,
                    claimed_until=None,
                    next_attempt_at=self.clock() + delay,
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def process(self, message_id: int) -> str:
        """Send one claimed message (or defer, fail, expire it); returns what happened."""
        if self.stopping.is_set():
            self._release(message_id)
            return "released"
        with self.sessions() as session:
            message = session.get(Message, message_id)
            if message is None or message.status != MessageStatus.SENDING.value:
                return "lost"
            if message.claimed_by != self.settings.worker_id:
                return "lost"
            now = self.clock()
            if message.not_after is not None and now >= message.not_after:
                return self._finish(session, message, MessageStatus.EXPIRED, "too-late")
            choice = self._choose_channel(session, message, now)
            if choice is None:
                return self._finish(session, message, MessageStatus.FAILED, "no-channel")
            channel_name = choice.channel
            when = self.quiet_hours.plan(channel_name, now, now, message.not_after, message.safe_hours)
            if when is None:
                return self._finish(session, message, MessageStatus.EXPIRED, "quiet-hours")
            if when > now + timedelta(seconds=30):
                self._defer(session, message, when)
                return "deferred"
            try:
                outgoing = self._outgoing(message, choice)
            except Exception:  # a template that cannot be rendered will not render next time either
                log.exception("message %s (%s) could not be rendered", message.id, message.kind)
                return self._finish(session, message, MessageStatus.FAILED, "render-error")
            channel = self.channels[channel_name]
            if message.in_doubt:
                found = channel.find_previous(outgoing, since=message.next_attempt_at - timedelta(minutes=1))
                if found:
                    return self._record(session, message, channel_name, now, SendResult("sent", provider_id=found), recovered=True)
            session.commit()  # end the read transaction: no lock is held while we talk to the provider
            self.limiter.wait(channel_name)
            started = self.clock()
            result = channel.send(outgoing)
            return self._record(session, message, channel_name, started, result)

    def _choose_channel(self, session: Session, message: Message, now: datetime) -> Choice | None:
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
            if name in message.excluded_channels or not address or name not in self.channels:
                continue
            if name != "webhook" and self._address_blocked(session, name, address):
                continue
            if name != "whatsapp":
                return Choice(name, address)
            if self._whatsapp_window_open(session, address, now):
                return Choice(name, address)
            template = self.settings.whatsapp_templates.get((message.kind, message.language))
            if template:
                return Choice(name, address, content_sid=template)
        return None

    def _address_blocked(self, session: Session, channel: str, address: str) -> bool:
        return (
            session.scalar(
                select(AddressStatus.id).where(AddressStatus.channel == channel, AddressStatus.address == address)
            )
            is not None
        )

    def _whatsapp_window_open(self, session: Session, address: str, now: datetime) -> bool:
        last = session.scalar(
            select(InboundMessage.received_at)
            .where(InboundMessage.channel == "whatsapp", InboundMessage.from_address == address)
            .order_by(InboundMessage.received_at.desc())
            .limit(1)
        )
        return last is not None and now - last < WHATSAPP_WINDOW

    def _outgoing(self, message: Message, choice: Choice) -> Outgoing:
        channel, content_sid = choice.channel, choice.content_sid
        rendered = self.renderer.render(message.kind, message.language, message.context, channel)
        return Outgoing(
            message_id=message.id,
            channel=channel,
            to=choice.address,
            body=rendered.body,
            subject=rendered.subject,
            html=rendered.html,
            language=message.language,
            content_sid=content_sid,
            content_variables=rendered.content_variables if content_sid else None,
            status_callback=self.status_callback(message.id, channel) if channel in ("sms", "whatsapp") else None,
        )

    # --- recording ----------------------------------------------------------------------

    def _still_mine(self, session: Session, message: Message) -> bool:
        session.refresh(message, with_for_update=session.get_bind().dialect.name == "postgresql")
        return message.status == MessageStatus.SENDING.value and message.claimed_by == self.settings.worker_id

    def _event(self, session: Session, message: Message, status: str, error_code: str | None = None) -> None:
        session.add(MessageEvent(message_id=message.id, at=self.clock(), status=status, source="dispatcher", error_code=error_code))

    def _finish(self, session: Session, message: Message, status: MessageStatus, error_code: str) -> str:
        message.status = status.value
        message.error_code = error_code
        message.claimed_by = None
        message.claimed_until = None
        self._event(session, message, status.value, error_code)
        session.commit()
        return "expired" if status == MessageStatus.EXPIRED else "failed"

    def _defer(self, session: Session, message: Message, when: datetime) -> None:
        message.status = MessageStatus.PENDING.value
        message.next_attempt_at = when
        message.claimed_by = None
        message.claimed_until = None
        self._event(session, message, "deferred", "quiet-hours")
        session.commit()

    def _record(
        self,
        session: Session,
        message: Message,
        channel: str,
        started: datetime,
        result: SendResult,
        recovered: bool = False,
    ) -> str:
        """Write the attempt and move the message on; only if this worker still holds it."""
        now = self.clock()
        session.add(
            MessageAttempt(
                message_id=message.id,
                channel=channel,
                worker=self.settings.worker_id,
                started_at=started,
                finished_at=now,
                outcome="recovered" if recovered else result.outcome,
                provider_id=result.provider_id,
                error_code=result.error_code,
                error_message=(result.error_message or "")[:300] or None,
            )
        )
        if not self._still_mine(session, message):
            log.warning("message %s: lease lost before the outcome was recorded", message.id)
            session.commit()
            return "lost"
        message.channel = channel
        message.claimed_by = None
        message.claimed_until = None
        message.error_code = result.error_code
        outcome: str = "recovered" if recovered else result.outcome
        if result.outcome == "sent":
            message.status = MessageStatus.SENT.value
            message.provider_id = result.provider_id
            message.sent_at = now
            message.in_doubt = False
            self._event(session, message, MessageStatus.SENT.value)
        elif result.outcome == "permanent":
            self._note_address(session, message, channel, result)
            message.excluded_channels = [*message.excluded_channels, channel]
            message.in_doubt = False
            if self._choose_channel(session, message, now) is not None:
                message.status = MessageStatus.PENDING.value
                message.next_attempt_at = now
                outcome = "fallback"
                self._event(session, message, "fallback", result.error_code)
            else:
                message.status = MessageStatus.FAILED.value
                outcome = "failed"
                self._event(session, message, MessageStatus.FAILED.value, result.error_code)
        else:
            message.attempts += 1
            message.in_doubt = result.outcome == "unknown"
            if message.attempts >= self.settings.max_attempts and result.outcome == "transient":
                message.status = MessageStatus.FAILED.value
                outcome = "failed"
                self._event(session, message, MessageStatus.FAILED.value, result.error_code)
            else:
                delay = backoff(message.attempts, self.settings.backoff_base, self.settings.backoff_cap, self._rng)
                if result.retry_after:
                    delay = max(delay, timedelta(seconds=result.retry_after))
                message.status = MessageStatus.PENDING.value
                message.next_attempt_at = now + delay
                self._event(session, message, "retry", result.error_code)
        session.commit()
        return outcome

    def _note_address(self, session: Session, message: Message, channel: str, result: SendResult) -> None:
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
            record_address_status(session, channel, address, verdict, error_code, self.clock())


def record_address_status(session: Session, channel: str, address: str, status: str, reason: str | None, now: datetime) -> None:
    """Remember that an address is opted out or unusable on a channel (insert or update)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(AddressStatus).values(channel=channel, address=address, status=status, reason=reason, updated_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["channel", "address"], set_={"status": status, "reason": reason, "updated_at": now}
        )
    )
