"""The one small interface every channel implements.

The dispatcher only ever sees :class:`Outgoing`, :class:`SendResult` and
:class:`Channel`; which provider sits behind a channel is configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

#: "unknown": the provider may or may not have taken the message (a time-out after the
#: request left us); the dispatcher asks the provider before sending it again.
Outcome = Literal["sent", "transient", "permanent", "unknown"]


@dataclass(frozen=True)
class Outgoing:
    """One rendered message, ready for a channel."""

    message_id: int
    channel: str  #: "sms" | "whatsapp" | "email" | "webhook" | "console"
    to: str  #: E.164 phone number, e-mail address, or URL
    body: str  #: text (SMS/WhatsApp/e-mail plain part) or JSON (webhook)
    subject: str | None = None  #: e-mail only
    html: str | None = None  #: e-mail only, optional alternative part
    language: str = "it"
    content_sid: str | None = None  #: WhatsApp approved template
    content_variables: dict[str, str] | None = None
    status_callback: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What a channel says happened to one attempt."""

    outcome: Outcome
    provider_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None  #: never personal data
    retry_after: float | None = None  #: seconds the provider asked us to wait


class Channel(Protocol):
    """A way of reaching a person: Twilio SMS or WhatsApp, SMTP, a webhook, the console."""

    name: str

    def send(self, outgoing: Outgoing) -> SendResult:
        """Hand the message to the provider once; never retries by itself."""
        ...

    def find_previous(self, outgoing: Outgoing, since: datetime) -> str | None:
        """Provider id of an earlier accepted copy of this message, if the provider can tell."""
        ...
