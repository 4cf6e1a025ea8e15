"""Claims with a lease, and the writes that close them, in as few statements as it takes.

A claim is one conditional ``UPDATE … RETURNING`` that hands back every column the
dispatcher needs, so a claimed message is never read again before it is sent. Every
later write about it is one conditional ``UPDATE … WHERE`` the claim is still this
worker's — same worker, still sending, the very lease it took (``claimed_until`` doubles
as the claim's token: a claim made after the lease ran out sets another one) and that
lease not yet over — ``RETURNING`` the id, so an outcome whose lease was lost is never
recorded as ours: the message goes to whoever holds it now or, once its lease is over,
is claimed again *in doubt* and the provider is asked before it is sent again. The
attempts and events of many messages are written with one insert each, in the same
transaction as their messages.

Everything here is SQLAlchemy Core on the tables: no unit of work, no identity map, no
refresh — at hundreds of messages a second that bookkeeping cost more than the database.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import Update, and_, bindparam, case, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from messaging.models import AddressStatus, InboundMessage, Message, MessageAttempt, MessageEvent, MessageStatus
from messaging.outcomes import Outcome

MESSAGE = Message.__table__
ATTEMPT = MessageAttempt.__table__
EVENT = MessageEvent.__table__
SENDING = MessageStatus.SENDING.value

#: What a claim returns, in the order of :class:`Claimed`'s fields.
CLAIMED_COLUMNS = (
    MESSAGE.c.id,
    MESSAGE.c.kind,
    MESSAGE.c.language,
    MESSAGE.c.context,
    MESSAGE.c.channels,
    MESSAGE.c.excluded_channels,
    MESSAGE.c.phone,
    MESSAGE.c.email,
    MESSAGE.c.webhook_url,
    MESSAGE.c.safe_hours,
    MESSAGE.c.not_after,
    MESSAGE.c.next_attempt_at,
    MESSAGE.c.attempts,
    MESSAGE.c.in_doubt,
    MESSAGE.c.claimed_until,
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message as its claim returned it: all that choosing, rendering and recording need."""

    id: int
    kind: str
    language: str
    context: dict[str, Any]
    channels: list[str]
    excluded_channels: list[str]
    phone: str | None
    email: str | None
    webhook_url: str | None
    safe_hours: str | None
    not_after: datetime | None
    next_attempt_at: datetime
    attempts: int
    #: The last hand-over may have reached the provider: ask it before sending again.
    in_doubt: bool
    #: The end of this claim's lease, and the claim's token in every later write.
    lease_end: datetime


@dataclass(frozen=True, slots=True)
class Lookups:
    """What choosing a channel needs to know about a batch's addresses, read once per batch."""

    #: (channel, address) pairs with an opt-out or an "invalid" verdict.
    blocked: frozenset[tuple[str, str]]
    #: Phone number → when that person last wrote to us on WhatsApp.
    whatsapp_last: Mapping[str, datetime]


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return or_(
        and_(MESSAGE.c.status == MessageStatus.PENDING.value, MESSAGE.c.next_attempt_at <= now),
        and_(MESSAGE.c.status == SENDING, MESSAGE.c.claimed_until < now),
    )


def claim(session: Session, worker_id: str, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due messages, oldest first; the caller commits at once."""
    candidates = select(MESSAGE.c.id).where(_due(now)).order_by(MESSAGE.c.next_attempt_at, MESSAGE.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # Materialised, so the candidate query runs exactly once: as a plain
        # IN (subquery) the planner may re-run it per row and claim far more
        # than ``limit`` (each run skipping the rows the last one locked).
        chosen = candidates.with_for_update(skip_locked=True).cte("candidates").prefix_with("MATERIALIZED")
        where = and_(MESSAGE.c.id == chosen.c.id, _due(now))
    else:
        where = and_(MESSAGE.c.id.in_(candidates.scalar_subquery()), _due(now))
    rows = session.execute(
        update(MESSAGE)
        .where(where)
        .values(
            # evaluated on the old row: a lease that ran out may have sent already
            in_doubt=case((MESSAGE.c.status == SENDING, True), else_=MESSAGE.c.in_doubt),
            status=SENDING,
            claimed_by=worker_id,
            claimed_until=now + lease,
            updated_at=now,
        )
        .returning(*CLAIMED_COLUMNS)
    ).all()
    claimed = [Claimed(*row) for row in rows]
    claimed.sort(key=lambda message: (message.next_attempt_at, message.id))
    return claimed


def load(session: Session, message_id: int, worker_id: str) -> Claimed | None:
    """A message this worker holds a claim on, or None if it holds none."""
    row = session.execute(
        select(*CLAIMED_COLUMNS).where(
            MESSAGE.c.id == message_id, MESSAGE.c.status == SENDING, MESSAGE.c.claimed_by == worker_id
        )
    ).first()
    return Claimed(*row) if row is not None else None


def lookups(session: Session, messages: Sequence[Claimed]) -> Lookups:
    """Address verdicts and WhatsApp windows of a whole batch: at most two queries."""
    addresses = {address for m in messages for address in (m.phone, m.email) if address}
    blocked: frozenset[tuple[str, str]] = frozenset()
    if addresses:
        blocked = frozenset(
            (channel, address)
            for channel, address in session.execute(
                select(AddressStatus.channel, AddressStatus.address).where(AddressStatus.address.in_(addresses))
            )
        )
    phones = {m.phone for m in messages if m.phone and "whatsapp" in m.channels}
    last: dict[str, datetime] = {}
    if phones:
        last = dict(
            session.execute(  # type: ignore[arg-type]
                select(InboundMessage.from_address, func.max(InboundMessage.received_at))
                .where(InboundMessage.channel == "whatsapp", InboundMessage.from_address.in_(phones))
                .group_by(InboundMessage.from_address)
            ).all()
        )
    return Lookups(blocked, last)


#: Ends this worker's claims on a batch — only those still its own — and says which they were.
_TAKE_BACK = (
    update(MESSAGE)
    .where(
        MESSAGE.c.status == SENDING,
        MESSAGE.c.claimed_by == bindparam("worker"),
        MESSAGE.c.claimed_until > bindparam("now"),
        tuple_(MESSAGE.c.id, MESSAGE.c.claimed_until).in_(bindparam("claims", expanding=True)),
    )
    .values(claimed_by=None, claimed_until=None, updated_at=bindparam("at"))
    .returning(MESSAGE.c.id)
)


@functools.lru_cache(maxsize=32)
def _set(columns: tuple[str, ...]) -> Update:
    """``UPDATE message SET <columns> WHERE id = :m_id``, built once per set of columns."""
    return update(MESSAGE).where(MESSAGE.c.id == bindparam("m_id")).values({name: bindparam("v_" + name) for name in columns})


def write(session: Session, worker_id: str, now: datetime, outcomes: Iterable[Outcome]) -> set[int]:
    """Write outcomes in the session's transaction (the caller commits); the ids still ours.

    First one conditional ``UPDATE … RETURNING`` ends the claims that are still ours —
    same worker, still sending, the same lease, not over — and so locks those rows for
    the rest of the transaction; then only those messages get their new state (one
    ``executemany`` per set of changed columns) and their events. Attempts are written
    for all: they happened.
    """
    outcomes = [outcome for outcome in outcomes]
    attempts = [dict(outcome.attempt) for outcome in outcomes if outcome.attempt is not None]
    if attempts:
        session.execute(insert(ATTEMPT), attempts)
    live = [(outcome.claimed.id, outcome.claimed.lease_end) for outcome in outcomes if outcome.claimed.lease_end > now]
    if not live:
        return set()
    parameters = {"worker": worker_id, "now": now, "at": now, "claims": sorted(live)}
    ours = set(session.scalars(_TAKE_BACK, parameters))
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    events = []
    for outcome in outcomes:
        message = outcome.claimed
        if message.id not in ours:
            continue
        values = {"v_" + name: value for name, value in outcome.changes.items()}
        values["m_id"] = message.id
        by_columns.setdefault(tuple(outcome.changes), []).append(values)
        if outcome.event is not None:
            events.append(
                {"message_id": message.id, "at": now, "status": outcome.event, "source": "dispatcher", "error_code": outcome.error_code}
            )
        if outcome.address is not None:
            record_address_status(session, *outcome.address, now)
    for columns, rows in by_columns.items():
        session.execute(_set(columns), rows)
    if events:
        session.execute(insert(EVENT), events)
    return ours


def record_address_status(session: Session, channel: str, address: str, status: str, reason: str | None, now: datetime) -> None:
    """Remember that an address is opted out or unusable on a channel (insert or update)."""
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert_(AddressStatus).values(channel=channel, address=address, status=status, reason=reason, updated_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["channel", "address"], set_={"status": status, "reason": reason, "updated_at": now}
        )
    )
