"""Twilio SMS and WhatsApp: the only module that imports ``twilio``.

Messages we start on WhatsApp go out as approved Content templates (``ContentSid`` +
``ContentVariables``); free text only inside the 24-hour window after the person last
wrote to us — the dispatcher decides which, this module only speaks to Twilio.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from messaging.channels.base import Outgoing, SendResult

#: Errors that no retry will cure for this message on this channel.
PERMANENT_CODES = frozenset({21211, 21408, 21610, 21614, 30005, 30006, 63014, 63016})
#: Of those, the ones that say something about the address itself: never again on it.
ADDRESS_VERDICTS = {
    21211: "invalid",  # not a valid phone number
    21610: "opted_out",  # the person replied STOP to our sender
    21614: "invalid",  # not a mobile number
    30005: "invalid",  # unknown destination
    30006: "invalid",  # landline or unreachable carrier
    63014: "opted_out",  # the person blocked us on WhatsApp
}
#: Delivery errors reported by callbacks that deserve exactly one more try.
RETRY_ONCE_CODES = frozenset({30003, 30008})

#: twilio-python logs every request and response at INFO, query parameters included:
#: for the list ``find_previous`` makes, that is the person's phone number. Our clients
#: log through this logger, which keeps only warnings.
HTTP_LOG = logging.getLogger("messaging.channels.twilio.http")
HTTP_LOG.setLevel(logging.WARNING)


def make_client(
    account_sid: str, auth_token: str, base_url: str = "", timeout: float = 10.0, connections: int = 10
) -> Client:
    """A Twilio client with a timeout, pointed at ``base_url`` when one is given.

    ``TWILIO_EDGE``/``TWILIO_REGION`` (read by the client from the environment) rewrite
    ``api.twilio.com`` into regional host names; for a custom endpoint that rewrite would
    mangle the host, so both are cleared whenever ``base_url`` is set.

    ``connections`` is how many sends may be in flight at once: the client keeps that
    many connections open. (Its own default keeps the number of CPUs + 4 over https, and
    every send beyond them would open, and then drop, a TLS connection of its own.)
    """
    http_client = TwilioHttpClient(timeout=timeout, logger=HTTP_LOG)
    pooled = HTTPAdapter(pool_maxsize=connections)
    http_client.session.mount("https://", pooled)
    http_client.session.mount("http://", pooled)
    client = Client(account_sid, auth_token, http_client=http_client)
    if base_url:
        client.edge = None
        client.region = None
        client.api.base_url = base_url.rstrip("/")
    _read_environment_once(http_client.session, client.get_hostname(client.api.base_url))
    return client


def _read_environment_once(session: requests.Session, url: str) -> None:
    """Take the proxy and CA bundle from the environment now, instead of on every request.

    ``requests`` reads ``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``... again for
    each request, walking the whole environment twice: about an eighth of the CPU a send
    costs. Every request of this client goes to the one host in ``url``, so the answer
    is the same each time and one reading, made here, gives the same connections.
    """
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(settings["proxies"])
    session.verify = settings["verify"]
    session.trust_env = False


def classify(status: int | None, code: int | None) -> str:
    """Map an HTTP status and Twilio error code to our outcome."""
    if code in PERMANENT_CODES:
        return "permanent"
    if status == 429 or code == 20429 or (status is not None and status >= 500):
        return "transient"
    if status in (401, 403):
        return "transient"  # our credentials are wrong: fixable, and not the person's fault
    if status is not None and 400 <= status < 500:
        return "permanent"
    return "transient"


class TwilioChannel:
    """SMS or WhatsApp through Twilio's Messages API."""

    def __init__(
        self,
        name: str,
        client: Client,
        from_: str = "",
        messaging_service_sid: str = "",
    ) -> None:
        if name not in ("sms", "whatsapp"):
            raise ValueError("a Twilio channel is 'sms' or 'whatsapp'")
        if not from_ and not messaging_service_sid:
            raise ValueError("a Twilio channel needs a sender number or a messaging service")
        self.name = name
        self.client = client
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid

    def _address(self, number: str) -> str:
        if self.name == "whatsapp" and not number.startswith("whatsapp:"):
            return "whatsapp:" + number
        return number

    def send(self, outgoing: Outgoing) -> SendResult:
        """One create call; a time-out after the request left is an "unknown" outcome."""
        arguments: dict[str, object] = {"to": self._address(outgoing.to)}
        if self.messaging_service_sid and self.name == "sms":
            arguments["messaging_service_sid"] = self.messaging_service_sid
        else:
            arguments["from_"] = self._address(self.from_)
        if outgoing.status_callback:
            arguments["status_callback"] = outgoing.status_callback
        if outgoing.content_sid:
            arguments["content_sid"] = outgoing.content_sid
            arguments["content_variables"] = json.dumps(outgoing.content_variables or {})
        else:
            arguments["body"] = outgoing.body
        try:
            created = self.client.messages.create(**arguments)  # type: ignore[arg-type]
        except TwilioRestException as exc:
            return SendResult(
                classify(exc.status, exc.code),
                error_code=str(exc.code or "http-{}".format(exc.status)),
                error_message="Twilio error {} (HTTP {})".format(exc.code, exc.status),
            )
        except requests.exceptions.ConnectTimeout:
            return SendResult("transient", error_code="connect-timeout")
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError, TwilioException) as exc:
            if _refused(exc):
                return SendResult("transient", error_code="connection-refused")
            return SendResult("unknown", error_code="no-answer", error_message=type(exc).__name__)
        return SendResult("sent", provider_id=created.sid)

    def find_previous(self, outgoing: Outgoing, since: datetime) -> str | None:
        """Ask Twilio whether it already took this message (after a crash or a time-out).

        Lists the messages to that number sent since the earlier attempt and matches the
        body (or, for a template, the first one after it).
        """
        listed = self.client.messages.list(
            to=self._address(outgoing.to), date_sent_after=since - timedelta(days=1), page_size=50, limit=200
        )
        for candidate in listed:
            created = candidate.date_created
            if created is not None and created < since - timedelta(seconds=5):
                continue
            if outgoing.content_sid or candidate.body == outgoing.body:
                return candidate.sid
        return None


def _refused(exc: Exception) -> bool:
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text
