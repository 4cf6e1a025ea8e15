"""Claiming due messages in the database and handing them to their channels.

Several dispatchers (threads, processes, machines) may run against one database. A
message is claimed with a lease by one conditional ``UPDATE … RETURNING`` (on
PostgreSQL its candidate rows are locked ``FOR UPDATE SKIP LOCKED``), so no two workers
hold it at once. A worker that dies leaves its lease to run out; the next claim marks
the message *in doubt*, and before sending it again the dispatcher asks the provider
whether it already took it. The statements themselves live in :mod:`messaging.claims`.

A dispatcher is a pipeline, so that the slowest send never stalls the others: one
thread claims a batch (with one query for the batch's address verdicts and WhatsApp
windows), ``concurrency`` threads decide, render and send each message, and the claiming
thread writes back whatever has finished, many outcomes per transaction, and claims the
next batch while sends are still in flight. Sending threads never touch the database.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Protocol

from sqlalchemy.orm import Session, sessionmaker

from messaging import claims
from messaging.channels.base import Channel, Outgoing, SendResult
from messaging.claims import Claimed, Lookups
from messaging.db import utcnow
from messaging.models import MessageStatus
from messaging.outcomes import Choice, Outcome, attempted, backoff, choose_channel, closed, handed_back
from messaging.policy import QuietHours

__all__ = ["DispatchReport", "DispatchSettings", "Dispatcher", "RateLimiter"]

log = logging.getLogger("messaging.dispatcher")

#: Outcomes are written together, up to this many per transaction...
WRITE_BATCH = 64
#: ...waiting at most this long after the first one for the others.
GATHER_SECONDS = 0.05


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
    #: How long a claim holds. A worker holds up to ``batch_size + 2 × concurrency``
    #: messages, sent ``concurrency`` at a time: the lease must outlast that many rounds
    #: of the channels' time-out (100 + 32 at 16 a time and 10 s: 90 s).
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

    # --- claiming and the pipeline ------------------------------------------------------

    def claim(self, limit: int | None = None) -> list[int]:
        """Claim up to ``limit`` due messages for this worker; commits at once."""
        return [message.id for message in self._claim(limit, with_lookups=False)[0]]

    def _claim(self, limit: int | None = None, with_lookups: bool = True) -> tuple[list[Claimed], Lookups]:
        """A committed claim, then (outside its transaction) what choosing channels needs."""
        with self.sessions() as session:
            batch = claims.claim(
                session, self.settings.worker_id, self.clock(), self.settings.lease, limit or self.settings.batch_size
            )
            session.commit()
            found = claims.lookups(session, batch) if batch and with_lookups else Lookups(frozenset(), {})
        return batch, found

    def drain(self, max_passes: int = 1000) -> DispatchReport:
        """Send until nothing is due (for ``--once`` runs, the worker's job, and tests).

        Up to ``max_passes`` batches are claimed; the next is claimed while the last one's
        sends are still in flight, as soon as fewer than twice ``concurrency`` remain.
        """
        return self._pump(max_claims=max_passes)

    def _pump(self, max_claims: int) -> DispatchReport:
        """Claim, hand to the sending threads, write back what finished; until nothing is left.

        Stops claiming when a claim finds nothing (but looks once more after the sends in
        flight, which may have made something due: a fallback), after ``max_claims``
        claims, or when ``stopping`` is set; returns once every claimed message has an
        outcome written.
        """
        report = DispatchReport()
        done: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        refill_below = 2 * self.settings.concurrency
        outstanding = claims_made = 0
        dry = look_again = False
        try:
            while True:
                may_claim = not dry and not self.stopping.is_set() and claims_made < max_claims
                if may_claim and outstanding < refill_below:
                    batch, found = self._claim()
                    claims_made += 1
                    report.claimed += len(batch)
                    for message in batch:
                        self._pool.submit(self._work, message, found, done)
                        outstanding += 1
                    # Nothing due now; what is in flight may yet make something due (a fallback).
                    dry, look_again = not batch, not batch and outstanding > 0
                    continue
                if outstanding == 0:
                    if look_again and not self.stopping.is_set() and claims_made < max_claims:
                        dry = look_again = False
                        continue
                    return report
                # Write many outcomes per transaction, but claim again before the threads run dry.
                enough = min(outstanding, WRITE_BATCH, outstanding - refill_below + 1 if may_claim else outstanding)
                finished = self._gather(done, enough)
                outstanding -= len(finished)
                self._record([outcome for outcome in finished if outcome is not None], report)
        finally:
            while outstanding > 0:  # a claim failed: still write what the sends in flight did
                finished = self._gather(done, min(outstanding, WRITE_BATCH))
                outstanding -= len(finished)
                self._record([outcome for outcome in finished if outcome is not None], report)

    @staticmethod
    def _gather(done: queue.SimpleQueue[Outcome | None], enough: int) -> list[Outcome | None]:
        """Wait for a finished message, then for up to ``enough`` within ``GATHER_SECONDS``."""
        finished = [done.get()]
        deadline = time.monotonic() + GATHER_SECONDS
        while len(finished) < enough and (left := deadline - time.monotonic()) > 0:
            try:
                finished.append(done.get(timeout=left))
            except queue.Empty:
                break
        return finished

    def close(self) -> None:
        """Finish what is in flight, then release the thread pool."""
        self._pool.shutdown(wait=True)

    # --- one message ----------------------------------------------------------------------

    def process(self, message_id: int) -> str:
        """Send one message this worker has claimed (or defer, fail, expire, hand it back)."""
        with self.sessions() as session:
            message = claims.load(session, message_id, self.settings.worker_id)
            if message is None:
                return "lost"
            found = claims.lookups(session, [message])
        outcome = self._handle_safely(message, found)
        return outcome.name if self._record([outcome], DispatchReport()) else "lost"

    def _work(self, message: Claimed, found: Lookups, done: queue.SimpleQueue[Outcome | None]) -> None:
        outcome = None
        try:
            outcome = self._handle_safely(message, found)
        finally:
            done.put(outcome)  # always, or the pipeline would wait for it forever

    def _handle_safely(self, message: Claimed, found: Lookups) -> Outcome:
        try:
            return self._handle(message, found)
        except Exception:  # a bug must not leave the message claimed until its lease ends
            log.exception("dispatching message %s failed unexpectedly", message.id)
            return handed_back(message, "released", self.clock() + timedelta(seconds=self.settings.backoff_base))

    def _handle(self, message: Claimed, found: Lookups) -> Outcome:
        """Decide, render and send one claimed message; the outcome is written by the caller."""
        now = self.clock()
        if self.stopping.is_set():
            return handed_back(message, "released", now)
        if message.not_after is not None and now >= message.not_after:
            return closed(message, MessageStatus.EXPIRED, "too-late")
        choice = self._choose(message, message.excluded_channels, found, now)
        if choice is None:
            return closed(message, MessageStatus.FAILED, "no-channel")
        if message.kind in self.quiet_hours.exempt_kinds:
            when: datetime | None = now
        else:
            when = self.quiet_hours.plan(choice.channel, now, now, message.not_after, message.safe_hours)
        if when is None:
            return closed(message, MessageStatus.EXPIRED, "quiet-hours")
        if when > now + timedelta(seconds=30):
            return handed_back(message, "deferred", when, event="deferred", error_code="quiet-hours")
        try:
            outgoing = self._outgoing(message, choice)
        except Exception:  # a template that cannot be rendered will not render next time either
            log.exception("message %s (%s) could not be rendered", message.id, message.kind)
            return closed(message, MessageStatus.FAILED, "render-error")
        channel = self.channels[choice.channel]
        if message.in_doubt:
            previous = channel.find_previous(outgoing, since=message.next_attempt_at - timedelta(minutes=1))
            if previous:
                already = SendResult("sent", provider_id=previous)
                return self._attempted(message, choice.channel, found, now, already, recovered=True)
        self.limiter.wait(choice.channel)
        started = self.clock()
        return self._attempted(message, choice.channel, found, started, channel.send(outgoing))

    def _choose(self, message: Claimed, excluded: list[str], found: Lookups, now: datetime) -> Choice | None:
        """The channel for ``message`` among this dispatcher's, leaving out ``excluded``."""
        return choose_channel(message, excluded, found, now, self.channels, self.settings.whatsapp_templates)

    def _attempted(
        self,
        message: Claimed,
        channel: str,
        found: Lookups,
        started: datetime,
        result: SendResult,
        recovered: bool = False,
    ) -> Outcome:
        now = self.clock()
        settings = self.settings
        return attempted(
            message,
            channel,
            settings.worker_id,
            started,
            now,
            result,
            recovered=recovered,
            can_fall_back=lambda excluded: self._choose(message, excluded, found, now) is not None,
            max_attempts=settings.max_attempts,
            delay=lambda attempts: backoff(attempts, settings.backoff_base, settings.backoff_cap, self._rng),
        )

    def _outgoing(self, message: Claimed, choice: Choice) -> Outgoing:
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

    # --- outcomes ---------------------------------------------------------------------------

    def _record(self, outcomes: list[Outcome], report: DispatchReport) -> bool:
        """Write outcomes in one transaction (one by one if that fails); True if all were ours.

        An outcome that cannot be written at all leaves its message claimed: when the
        lease runs out it is claimed again in doubt, and the provider is asked first.
        """
        if not outcomes:
            return True
        unwritten: set[int] = set()
        try:
            ours = self._write(outcomes)
        except Exception:
            log.exception("writing %s outcomes at once failed", len(outcomes))
            ours, unwritten = set(), {outcome.claimed.id for outcome in outcomes}
            for outcome in outcomes if len(outcomes) > 1 else ():
                try:
                    ours |= self._write([outcome])
                    unwritten.discard(outcome.claimed.id)
                except Exception:
                    log.exception("message %s: the outcome could not be written; its lease will run out", outcome.claimed.id)
        for outcome in outcomes:
            if outcome.claimed.id in ours:
                report.add(outcome.name)
            elif outcome.claimed.id not in unwritten:
                log.warning("message %s: lease lost before the outcome was recorded", outcome.claimed.id)
        return len(ours) == len(outcomes)

    def _write(self, outcomes: list[Outcome]) -> set[int]:
        with self.sessions() as session:
            ours = claims.write(session, self.settings.worker_id, self.clock(), outcomes)
            session.commit()
        return ours
