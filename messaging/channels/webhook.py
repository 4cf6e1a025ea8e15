"""The signed webhook channel: a JSON POST for handing data to other systems.

The receiver checks ``X-Porta-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed
with the shared secret, of ``<timestamp>.<body>`` where the timestamp is the
``X-Porta-Timestamp`` header (Unix seconds), so a captured request cannot be replayed
later with the same signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime

import requests

from messaging.channels.base import Outgoing, SendResult

SIGNATURE_HEADER = "X-Porta-Signature"
TIMESTAMP_HEADER = "X-Porta-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def verify(secret: str, timestamp: str, body: bytes, signature: str, max_age: float = 300, now: float | None = None) -> bool:
    """What a receiver does: constant-time comparison, and a bounded age."""
    now = time.time() if now is None else now
    try:
        fresh = abs(now - float(timestamp)) <= max_age
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookChannel:
    """POSTs the message body (JSON) to the recipient's URL, signed with the shared secret."""

    name = "webhook"

    def __init__(self, secret: str, timeout: float = 10.0, session: requests.Session | None = None) -> None:
        if not secret:
            raise ValueError("the webhook channel needs a signing secret")
        self.secret = secret
        self.timeout = timeout
        self.http = session or requests.Session()

    def send(self, outgoing: Outgoing) -> SendResult:
        """One POST; 2xx is sent, 4xx permanent (but 408/429), the rest worth retrying."""
        body = outgoing.body.encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            "Idempotency-Key": "porta-message-{}".format(outgoing.message_id),
        }
        try:
            response = self.http.post(outgoing.to, data=body, headers=headers, timeout=self.timeout)
        except requests.exceptions.ConnectTimeout:
            return SendResult("transient", error_code="webhook-connect-timeout")
        except requests.exceptions.ConnectionError as exc:
            if _before_request_left(exc):
                return SendResult("transient", error_code="webhook-connection")
            return SendResult("unknown", error_code="webhook-connection")
        except requests.exceptions.Timeout:
            return SendResult("unknown", error_code="webhook-timeout")
        code = response.status_code
        if 200 <= code < 300:
            return SendResult("sent", provider_id=response.headers.get("X-Request-Id"))
        error = "http-{}".format(code)
        if code in (408, 429) or code >= 500:
            retry_after = response.headers.get("Retry-After")
            return SendResult(
                "transient", error_code=error, retry_after=float(retry_after) if (retry_after or "").isdigit() else None
            )
        return SendResult("permanent", error_code=error)

    def find_previous(self, outgoing: Outgoing, since: datetime) -> str | None:
        """A webhook cannot be asked; receivers de-duplicate by the Idempotency-Key header."""
        return None


def _before_request_left(exc: requests.exceptions.ConnectionError) -> bool:
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolution" in text
