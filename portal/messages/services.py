"""Building the messaging library's parts from the portal's configuration.

Messaging knows nothing of the portal; this module is where the two meet: it turns the
environment into channels, quiet hours and a dispatcher, offers the dispatch pass that
the worker's job table and ``flask --app portal messaging dispatch`` both run, and the
operations behind the staff pages (history, the queue of failed messages, the inbox of
replies that need a person).
"""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Iterable, Sequence

from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from messaging import outbox
from messaging.channels import ChannelSettings, build_channels
from messaging.dispatcher import Dispatcher, DispatchReport, DispatchSettings
from messaging.models import InboundMessage, Message, MessageEvent, MessageStatus
from messaging.policy import QuietHours, ReminderPolicy
from messaging.templates import Renderer, load_templates
from portal.auth.models import StaffMember
from portal.config import LANGUAGES, Config
from portal.db import get_engine
from portal.i18n import TRANSLATIONS_DIR
from portal.messages.whatsapp_templates import load_whatsapp_templates, templates_file


def parse_rates(text: str) -> dict[str, float]:
    """``"sms=10,email=5"`` → {"sms": 10.0, "email": 5.0}."""
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        rates[name.strip()] = float(value)
    return rates


def channel_settings(config: Config) -> ChannelSettings:
    """Provider settings from the configuration (same names); absent ones leave the console in place."""
    shared = {f.name: getattr(config, f.name) for f in fields(ChannelSettings) if hasattr(config, f.name)}
    return ChannelSettings(**shared, console_shows_bodies=not config.production)


def quiet_hours(config: Config) -> QuietHours:
    """Quiet windows per channel in the agency's time zone."""
    windows = {"sms": config.quiet_hours_sms, "whatsapp": config.quiet_hours_whatsapp, "email": config.quiet_hours_email}
    quiet = {name: text for name, text in windows.items() if text}
    # A PIN is asked for by the person at that moment and expires in minutes.
    return QuietHours.from_quiet(config.timezone, quiet, exempt_kinds={"one_time_pin"})


def renderer(config: Config) -> Renderer:
    """The template renderer; loading validates every template (a start-up error if broken)."""
    return Renderer(load_templates(), TRANSLATIONS_DIR, config.timezone, config.message_sender)


def whatsapp_templates(config: Config, kinds: Iterable[str]) -> dict[tuple[str, str], str]:
    """The Content SID per (kind, language) from WHATSAPP_TEMPLATES_FILE; {} when unset."""
    path = templates_file(config)
    return {} if path is None else load_whatsapp_templates(path, kinds, LANGUAGES)


def init_app(app: Flask) -> None:
    """Check every messaging setting and template at start-up, once.

    A typo in QUIET_HOURS_SMS, a broken template or a wrong WhatsApp Content SID should
    stop the app where it is deployed, not surface minutes later inside the worker's
    first dispatch (or, worse, send everything by SMS without a word).
    """
    config: Config = app.config["PORTA"]
    rendering = app.extensions["messaging.renderer"] = renderer(config)
    app.extensions["messaging.whatsapp_templates"] = whatsapp_templates(config, rendering.templates.kinds)
    quiet_hours(config)
    parse_rates(config.dispatch_rates)
    ReminderPolicy.parse_offsets(config.reminder_offsets)


def status_callback_url(config: Config):  # type: ignore[no-untyped-def]
    """Twilio calls us back at this URL, which carries our message id."""

    def url(message_id: int, channel: str) -> str:
        return "{}/messaging/twilio/status?m={}".format(config.public_base_url, message_id)

    return url


def build_dispatcher(app: Flask, worker_id: str | None = None) -> Dispatcher:
    """A dispatcher bound to the app's database and configuration."""
    config: Config = app.config["PORTA"]
    rendering = app.extensions.get("messaging.renderer") or renderer(config)
    templates = app.extensions.get("messaging.whatsapp_templates")
    return Dispatcher(
        sessionmaker(get_engine(app), expire_on_commit=False),
        build_channels(channel_settings(config)),
        rendering,
        quiet_hours(config),
        DispatchSettings(
            worker_id=worker_id or "{}:{}".format(socket.gethostname(), os.getpid()),
            batch_size=config.dispatch_batch_size,
            concurrency=config.dispatch_concurrency,
            max_attempts=config.dispatch_max_attempts,
            rates=parse_rates(config.dispatch_rates),
            whatsapp_templates=templates if templates is not None else whatsapp_templates(config, rendering.templates.kinds),
        ),
        status_callback=status_callback_url(config),
    )


def dispatch_due(app: Flask) -> DispatchReport:
    """One dispatch pass with the app's long-lived dispatcher (created on first use)."""
    dispatcher = app.extensions.get("messaging.dispatcher")
    if dispatcher is None:
        dispatcher = app.extensions["messaging.dispatcher"] = build_dispatcher(app)
    return dispatcher.drain(max_passes=20)


def dispatch_job(session: Session, now: datetime) -> DispatchReport:
    """The worker's job: send what is due (the session is unused: claims commit on their own)."""
    from flask import current_app

    return dispatch_due(current_app._get_current_object())  # type: ignore[attr-defined]


# --- staff pages ----------------------------------------------------------------------------


def actor(staff_id: int) -> str:
    """How a staff member is named in messaging's records (events, handled replies)."""
    return "staff:{}".format(staff_id)


def history(
    session: Session, recipient_key: str | None = None, subject_key: str | None = None, limit: int = 100
) -> list[Message]:
    """The messages to a person or about a subject, newest first, with attempts and events.

    Rows carry the context the texts are rendered from; pages must show only the kind,
    never the context (texts are rendered at send time and may hold personal data).
    """
    if not recipient_key and not subject_key:
        raise ValueError("history needs a recipient_key or a subject_key")
    query = select(Message).options(selectinload(Message.attempts_log), selectinload(Message.events))
    if recipient_key:
        query = query.where(Message.recipient_key == recipient_key)
    if subject_key:
        query = query.where(Message.subject_key == subject_key)
    return list(session.scalars(query.order_by(Message.send_at.desc(), Message.id.desc()).limit(limit)))


def actor_names(session: Session, messages: Iterable[Message]) -> dict[str, str]:
    """{"staff:7": "Full Name"} for the staff who acted on these messages."""
    ids = {
        int(event.source.split(":", 1)[1])
        for message in messages
        for event in message.events
        if event.source.startswith("staff:") and event.source.split(":", 1)[1].isdigit()
    }
    if not ids:
        return {}
    rows = session.execute(select(StaffMember.id, StaffMember.full_name).where(StaffMember.id.in_(ids)))
    return {actor(staff_id): name for staff_id, name in rows}


@dataclass(frozen=True)
class Page:
    """One page of a longer list."""

    items: Sequence[Message]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even when empty)."""
        return max(1, math.ceil(self.total / self.per_page))


def attention_queue(
    session: Session,
    now: datetime,
    channel: str | None = None,
    kind: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Failed and stuck messages (see :func:`messaging.outbox.needs_attention`), newest first."""
    conditions = [outbox.needs_attention(now)]
    if channel:
        conditions.append(Message.channel == channel)
    if kind:
        conditions.append(Message.kind == kind)
    total = session.scalar(select(func.count()).select_from(Message).where(*conditions)) or 0
    number = min(max(page, 1), max(1, math.ceil(total / per_page)))
    items = session.scalars(
        select(Message)
        .options(selectinload(Message.attempts_log), selectinload(Message.events))
        .where(*conditions)
        .order_by(Message.send_at.desc(), Message.id.desc())
        .offset((number - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(items=items, total=total, number=number, per_page=per_page)


def retry_messages(session: Session, message_ids: Iterable[int], now: datetime, staff_id: int) -> int:
    """Put failed or stuck messages back in the queue, due now; returns how many went back."""
    return sum(outbox.retry(session, message_id, now, actor(staff_id)) for message_id in set(message_ids))


def cancel_message(session: Session, message_id: int, now: datetime, staff_id: int) -> bool:
    """Give up on a failed or stuck message for good; False if it is neither any more."""
    cancelled = session.scalar(
        update(Message)
        .where(Message.id == message_id, outbox.needs_attention(now))
        .values(status=MessageStatus.CANCELLED.value, claimed_by=None, claimed_until=None, updated_at=now)
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    if cancelled is None:
        return False
    session.add(MessageEvent(message_id=message_id, at=now, status=MessageStatus.CANCELLED.value, source=actor(staff_id)))
    session.flush()
    return True


def open_inbox(session: Session, limit: int = 200) -> list[InboundMessage]:
    """Replies nobody could act on automatically, oldest first: the longest waiting on top."""
    return list(
        session.scalars(
            select(InboundMessage)
            .where(InboundMessage.inbox_status == "open")
            .order_by(InboundMessage.received_at, InboundMessage.id)
            .limit(limit)
        )
    )


def open_inbox_count(session: Session) -> int:
    """How many replies wait for a person."""
    return session.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.inbox_status == "open")) or 0


def mark_handled(session: Session, inbound_id: int, now: datetime, staff_id: int) -> bool:
    """Close one reply, recording who and when; False if it was not open (someone was quicker)."""
    handled = session.scalar(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.inbox_status == "open")
        .values(inbox_status="done", handled_by=actor(staff_id), handled_at=now)
        .returning(InboundMessage.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return handled is not None
