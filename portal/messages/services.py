"""Building the messaging library's parts from the portal's configuration.

Messaging knows nothing of the portal; this module is where the two meet: it turns the
environment into channels, quiet hours and a dispatcher, and offers the dispatch pass
that the worker's job table and ``flask --app portal messaging dispatch`` both run.
"""

from __future__ import annotations

import os
import socket
from dataclasses import fields
from datetime import datetime

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from messaging.channels import ChannelSettings, build_channels
from messaging.dispatcher import Dispatcher, DispatchReport, DispatchSettings
from messaging.policy import QuietHours, ReminderPolicy
from messaging.templates import Renderer, load_templates
from portal.config import Config
from portal.db import get_engine
from portal.i18n import TRANSLATIONS_DIR


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
    return QuietHours.from_quiet(config.timezone, {name: text for name, text in windows.items() if text})


def renderer(config: Config) -> Renderer:
    """The template renderer; loading validates every template (a start-up error if broken)."""
    return Renderer(load_templates(), TRANSLATIONS_DIR, config.timezone, config.message_sender)


def init_app(app: Flask) -> None:
    """Check every messaging setting and template at start-up, once.

    A typo in QUIET_HOURS_SMS or a broken template should stop the app where it is
    deployed, not surface minutes later inside the worker's first dispatch.
    """
    config: Config = app.config["PORTA"]
    app.extensions["messaging.renderer"] = renderer(config)
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
    return Dispatcher(
        sessionmaker(get_engine(app), expire_on_commit=False),
        build_channels(channel_settings(config)),
        app.extensions.get("messaging.renderer") or renderer(config),
        quiet_hours(config),
        DispatchSettings(
            worker_id=worker_id or "{}:{}".format(socket.gethostname(), os.getpid()),
            batch_size=config.dispatch_batch_size,
            concurrency=config.dispatch_concurrency,
            max_attempts=config.dispatch_max_attempts,
            rates=parse_rates(config.dispatch_rates),
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
