"""Twilio's webhooks: delivery status callbacks and inbound messages.

Every request must carry a valid ``X-Twilio-Signature`` computed over the URL Twilio
called, which is rebuilt from ``PUBLIC_BASE_URL`` (not from the request's own host), so
the check also holds behind a TLS-terminating proxy. A bad or missing signature gets 403
and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from messaging.db import utcnow
from messaging.inbound import receive, record_status

bp = Blueprint("messaging_webhooks", __name__, url_prefix="/messaging/twilio")


@dataclass(frozen=True)
class WebhookSettings:
    """What the webhooks need from the application that mounts them."""

    auth_token: str
    public_base_url: str
    #: The current request's session (the application owns and closes it).
    session: Callable[[], Session]


def _settings() -> WebhookSettings:
    return current_app.extensions["messaging.webhooks"]


def _check_signature(settings: WebhookSettings) -> None:
    if not settings.auth_token:
        abort(403)
    url = settings.public_base_url.rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not RequestValidator(settings.auth_token).validate(url, request.form.to_dict(), signature):
        abort(403)


def _twiml(text: str | None = None) -> Response:
    body = "<Response>{}</Response>".format("<Message>{}</Message>".format(escape(text)) if text else "")
    return Response('<?xml version="1.0" encoding="UTF-8"?>' + body, mimetype="application/xml")


@bp.route("/status", methods=["POST"])
def status():  # type: ignore[no-untyped-def]
    """A delivery update for the message whose id the callback URL carries."""
    settings = _settings()
    _check_signature(settings)
    message_id = request.args.get("m", "")
    if not message_id.isdigit():
        abort(400)
    session = settings.session()
    record_status(
        session,
        int(message_id),
        request.form.get("MessageSid"),
        request.form.get("MessageStatus", ""),
        request.form.get("ErrorCode") or None,
        utcnow(),
    )
    session.commit()
    return Response(status=204)


@bp.route("/inbound", methods=["POST"])
def inbound():  # type: ignore[no-untyped-def]
    """A person wrote to us: opt-out, opt-in, a reply to a reminder, or anything else."""
    settings = _settings()
    _check_signature(settings)
    sender = request.form.get("From", "")
    provider_id = request.form.get("MessageSid", "")
    if not sender or not provider_id:
        abort(400)
    channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
    session = settings.session()
    received = receive(
        session,
        provider_id=provider_id,
        channel=channel,
        from_address=sender.removeprefix("whatsapp:"),
        to_address=request.form.get("To", "").removeprefix("whatsapp:") or None,
        body=request.form.get("Body", ""),
        now=utcnow(),
    )
    session.commit()
    return _twiml(received.answer)
