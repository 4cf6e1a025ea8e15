"""Channels behind one small interface, chosen by configuration.

A channel whose settings are absent is off, and the console channel stands in for it,
so the demo works offline and shows what would have gone out.
"""

from __future__ import annotations

from dataclasses import dataclass

from messaging.channels.base import Channel, Outgoing, SendResult
from messaging.channels.console import ConsoleChannel

__all__ = ["Channel", "ChannelSettings", "Outgoing", "SendResult", "build_channels"]


@dataclass(frozen=True)
class ChannelSettings:
    """Provider settings, as the environment gives them (empty = not configured)."""

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_sms_from: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_whatsapp_from: str = ""
    twilio_api_base_url: str = ""
    smtp_url: str = ""
    mail_from: str = ""
    webhook_secret: str = ""
    timeout: float = 10.0
    #: Sends in flight at once (``DISPATCH_CONCURRENCY``): the Twilio client keeps as many connections open.
    dispatch_concurrency: int = 16
    #: Whether the console channel may log message bodies (development only).
    console_shows_bodies: bool = True


def build_channels(settings: ChannelSettings) -> dict[str, Channel]:
    """One channel per name; the unconfigured ones are console channels under that name."""
    channels: dict[str, Channel] = {
        name: ConsoleChannel(name, show_bodies=settings.console_shows_bodies)
        for name in ("sms", "whatsapp", "email", "webhook", "console")
    }
    if settings.twilio_account_sid and settings.twilio_auth_token:
        from messaging.channels.twilio import TwilioChannel, make_client

        client = make_client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_base_url,
            settings.timeout,
            connections=settings.dispatch_concurrency,
        )
        if settings.twilio_sms_from or settings.twilio_messaging_service_sid:
            channels["sms"] = TwilioChannel(
                "sms", client, settings.twilio_sms_from, settings.twilio_messaging_service_sid
            )
        if settings.twilio_whatsapp_from:
            channels["whatsapp"] = TwilioChannel("whatsapp", client, settings.twilio_whatsapp_from)
    if settings.smtp_url and settings.mail_from:
        from messaging.channels.email import SmtpChannel, parse_smtp_url

        channels["email"] = SmtpChannel(parse_smtp_url(settings.smtp_url, settings.timeout), settings.mail_from)
    if settings.webhook_secret:
        from messaging.channels.webhook import WebhookChannel

        channels["webhook"] = WebhookChannel(settings.webhook_secret, settings.timeout)
    return channels
