"""A local HTTP server that speaks enough of Twilio's Programmable Messaging REST API.

Project rule: Twilio is faked only at the HTTP boundary, by a local server that speaks
Twilio's REST API, reached through the real ``twilio`` client. So nothing here patches
the client: :func:`make_client` builds a real ``twilio.rest.Client`` whose v2010 API
domain points at this server, and every request goes through requests/urllib3 exactly
as it would to ``api.twilio.com``.

What it speaks (paths as Twilio's, under ``/2010-04-01/Accounts/{AccountSid}/``):

* ``POST Messages.json``       send a message (form fields To, From or
  MessagingServiceSid, Body or ContentSid [+ ContentVariables], StatusCallback);
* ``GET  Messages.json``       list, newest first, filtered by To, From, DateSent,
  DateSent< and DateSent>, in Twilio's page envelope (next_page_uri etc.);
* ``GET  Messages/{Sid}.json`` fetch one.

Errors are Twilio's legacy JSON (code, message, more_info, status), which the client
turns into ``TwilioRestException`` with ``.status`` (HTTP) and ``.code`` (Twilio's).
Anything else is a Twilio-format 404.

Faults to test a dispatcher against: latency, random 500s and 429s (seeded), permanent
per-number errors, an exact queue of failures (:meth:`FakeTwilio.fail_next`), and
"accepted but never answered" (:meth:`FakeTwilio.crash_after_accepting_next`).

It also runs as its own process for the throughput benchmark::

    python tests/fakes/twilio_server.py --port 0 --latency 0.05 --fail-rate 0.01 \\
        --rate-limit-rate 0.01 --account-sid AC... --auth-token ...

prints ``listening http://127.0.0.1:PORT`` and serves until SIGTERM (or SIGINT), then
exits 0. ``GET /_fake/messages``, ``GET /_fake/stats`` and ``POST /_fake/reset`` (no
auth) let that other process see and clear what the fake accepted.

Standard library only, and no package-relative imports: the benchmark loads this file
by path, and the subprocess mode must start without the project installed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import email.utils
import json
import math
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import uuid
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit

#: Credentials the fake accepts unless told otherwise (look like Twilio's, are not).
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"

API_VERSION = "2010-04-01"
DEFAULT_PAGE_SIZE = 50  #: Twilio's default PageSize
MAX_PAGE_SIZE = 1000  #: Twilio's maximum PageSize

#: Messages Twilio gives for the codes the fake answers with (shortened where long).
ERROR_MESSAGES: dict[int, str] = {
    20001: "Invalid parameter",
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    63016: (
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template."
    ),
}

_STATUS_TO_CODE = {400: 20001, 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
_MESSAGE_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json$")

# GSM 03.38 default alphabet (less ESC) and its two-septet extension, only to report a
# plausible num_segments; the project's own counting lives in messaging.segments.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def _num_segments(body: str) -> int:
    """How many SMS segments ``body`` takes (GSM-7 160/153, else UCS-2 70/67)."""
    if not body:
        return 1
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in body):
        units = sum(2 if c in _GSM7_EXTENSION else 1 for c in body)
        single, multi = 160, 153
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in body)
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _rfc2822(moment: datetime) -> str:
    """Twilio's timestamp format: ``Thu, 30 Jul 2015 20:12:31 +0000``."""
    return email.utils.format_datetime(moment.astimezone(timezone.utc))


def error_body(code: int, status: int, message: str | None = None) -> dict[str, Any]:
    """Twilio's (legacy) error JSON.

    No ``type``/``title`` keys: with those the client would build an RFC 9457
    ``TwilioServiceException`` instead of the ``TwilioRestException`` Messaging raises.
    """
    return {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error {}".format(code)),
        "more_info": "https://www.twilio.com/docs/errors/{}".format(code),
        "status": status,
    }


class _Reply(Exception):
    """Raised inside a handler to answer at once with a Twilio error."""

    def __init__(self, status: int, code: int, message: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(status, code)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class FakeTwilio:
    """A fake Twilio Messaging API on a local port; thread-safe; a context manager.

    Configuration may be changed at any time, also while serving:

    * ``latency``          seconds to sleep before answering any API request;
    * ``fail_rate``        probability that a ``POST Messages.json`` gets HTTP 500 /
      code 20500;
    * ``rate_limit_rate``  probability that it gets HTTP 429 / code 20429 with
      ``Retry-After: 1``;
    * ``seed``             seed of the RNG drawing those faults (setting it reseeds);
    * ``errors_for``       ``{To: code}``: that destination always gets HTTP 400 with
      that Twilio code (21211, 21610, 21614, 63016...);
    * ``clock``            callable giving the aware UTC "now" stamped on new messages
      (tests backdate messages with it).

    Order of checks on a POST: count it, sleep ``latency``, Basic auth (401/20003),
    AccountSid in the path (404/20404), :meth:`fail_next` queue, random 429/500,
    validation (21604, 21603, 21602), ``errors_for``, then accept (201), or accept and
    drop the connection if :meth:`crash_after_accepting_next` is armed.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        fail_rate: float = 0.0,
        rate_limit_rate: float = 0.0,
        seed: int | str | None = 0,
        errors_for: dict[str, int] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self._initial = {
            "latency": latency,
            "fail_rate": fail_rate,
            "rate_limit_rate": rate_limit_rate,
            "errors_for": dict(errors_for or {}),
            "clock": clock,
        }
        self.latency = latency
        self.fail_rate = fail_rate
        self.rate_limit_rate = rate_limit_rate
        self.errors_for: dict[str, int] = dict(errors_for or {})
        self.clock = clock
        self._lock = threading.Lock()
        self._seed = seed
        self._rng = random.Random(seed)
        self._records: list[dict[str, Any]] = []
        self._by_sid: dict[str, dict[str, Any]] = {}
        self._seq = 0
        self._fail_queue: collections.deque[int] = collections.deque()
        self._crashes_armed = 0
        self._counts: collections.Counter[str] = collections.Counter()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> "FakeTwilio":
        """Bind (port 0 picks a free one) and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("FakeTwilio already started")
        httpd = _Server((self.host, self.port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and join every thread. Idempotent.

        Clients keep connections alive (requests pools them), so each connection has a
        handler thread blocked reading the next request; shutting those sockets down
        wakes them, so nothing is left behind for ResourceWarnings to find.
        """
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        httpd.close_all_connections()
        httpd.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> "FakeTwilio":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: what ``make_client`` points the v2010 API at."""
        if self._httpd is None:
            raise RuntimeError("FakeTwilio not started")
        return "http://{}:{}".format(self.host, self.port)

    # --- configuration ------------------------------------------------------------------

    @property
    def seed(self) -> int | str | None:
        return self._seed

    @seed.setter
    def seed(self, value: int | str | None) -> None:
        with self._lock:
            self._seed = value
            self._rng = random.Random(value)

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next ``n`` POSTs with ``status`` (code 20000+status; 429 adds
        ``Retry-After: 1``), before any validation; queued after earlier calls."""
        with self._lock:
            self._fail_queue.extend([status] * n)

    def crash_after_accepting_next(self, n: int = 1) -> None:
        """Record the next ``n`` valid messages, then close the socket unanswered.

        "The provider took it but we never heard back": the client sees a connection
        error, yet ``GET Messages.json`` lists the message.
        """
        with self._lock:
            self._crashes_armed += n

    def reset(self) -> None:
        """Forget messages, counters and armed faults; put the configuration given to
        the constructor back (latency, rates, errors_for, clock) and reseed the RNG."""
        with self._lock:
            self._records.clear()
            self._by_sid.clear()
            self._fail_queue.clear()
            self._crashes_armed = 0
            self._counts.clear()
            self._rng = random.Random(self._seed)
            self.latency = self._initial["latency"]
            self.fail_rate = self._initial["fail_rate"]
            self.rate_limit_rate = self._initial["rate_limit_rate"]
            self.errors_for = dict(self._initial["errors_for"])
            self.clock = self._initial["clock"]

    # --- inspection -----------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Accepted messages, oldest first (a snapshot; dropped-connection ones too).

        Keys: sid, account_sid, to, from_, messaging_service_sid, body, content_sid,
        content_variables (the JSON string as sent), status_callback, date_created
        (aware UTC datetime, whole seconds like Twilio's timestamps). Absent fields
        are None.
        """
        with self._lock:
            return [_public(record) for record in self._records]

    @property
    def requests_count(self) -> int:
        """Every ``POST Messages.json`` received, accepted or not."""
        with self._lock:
            return self._counts["requests"]

    @property
    def stats(self) -> dict[str, int]:
        """Counters: requests, accepted (dropped ones included), dropped, rejected_<status>
        (rejected_500 and rejected_429 always present), list_pages, fetches."""
        with self._lock:
            stats = {"requests": 0, "accepted": 0, "dropped": 0, "rejected_500": 0, "rejected_429": 0}
            stats.update(self._counts)
            stats.setdefault("list_pages", 0)
            stats.setdefault("fetches", 0)
            return stats

    # --- the API, called by the handler -------------------------------------------------

    def _check_auth(self, authorization: str | None) -> None:
        """HTTP Basic with the account SID and auth token, else 401 / 20003."""
        if not self._basic_matches(authorization):
            raise _Reply(401, 20003, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})

    def _basic_matches(self, authorization: str | None) -> bool:
        if not authorization or not authorization[:6].lower() == "basic ":
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        return user == self.account_sid and password == self.auth_token

    def _check_account(self, account_sid: str, path: str) -> None:
        if account_sid != self.account_sid:
            raise _Reply(404, 20404, "The requested resource {} was not found".format(path))

    def _create(self, account_sid: str, path: str, form: dict[str, list[str]]) -> tuple[dict[str, Any], bool]:
        """Validate and record one message; returns (resource, drop_connection)."""
        self._check_account(account_sid, path)

        def field(name: str) -> str | None:
            values = form.get(name)
            return values[0] if values else None

        with self._lock:
            injected = self._fail_queue.popleft() if self._fail_queue else None
            draw = self._rng.random()
        if injected is None:
            if draw < self.rate_limit_rate:
                injected = 429
            elif draw < self.rate_limit_rate + self.fail_rate:
                injected = 500
        if injected is not None:
            headers = {"Retry-After": "1"} if injected == 429 else None
            raise _Reply(injected, _STATUS_TO_CODE.get(injected, 20000 + injected), headers=headers)

        to = field("To")
        from_ = field("From")
        service = field("MessagingServiceSid")
        body = field("Body")
        content_sid = field("ContentSid")
        media = form.get("MediaUrl") or []
        if not to:
            raise _Reply(400, 21604)
        if not from_ and not service:
            raise _Reply(400, 21603)
        if not body and not content_sid and not media:
            raise _Reply(400, 21602)
        code = self.errors_for.get(to)
        if code is not None:
            raise _Reply(400, code, ERROR_MESSAGES.get(code))

        created = self.clock().astimezone(timezone.utc).replace(microsecond=0)
        record = {
            "sid": "SM" + uuid.uuid4().hex,
            "account_sid": account_sid,
            "to": to,
            "from_": from_,
            "messaging_service_sid": service,
            "body": body,
            "content_sid": content_sid,
            "content_variables": field("ContentVariables"),
            "status_callback": field("StatusCallback"),
            "date_created": created,
            "_num_media": len(media),
        }
        with self._lock:
            self._seq += 1
            record["_seq"] = self._seq
            self._records.append(record)
            self._by_sid[record["sid"]] = record
            self._counts["accepted"] += 1
            drop = self._crashes_armed > 0
            if drop:
                self._crashes_armed -= 1
                self._counts["dropped"] += 1
        return _resource(record), drop

    def _fetch(self, account_sid: str, sid: str, path: str) -> dict[str, Any]:
        self._check_account(account_sid, path)
        with self._lock:
            self._counts["fetches"] += 1
            record = self._by_sid.get(sid)
        if record is None or record["account_sid"] != account_sid:
            raise _Reply(404, 20404, "The requested resource {} was not found".format(path))
        return _resource(record)

    def _list(self, account_sid: str, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """One page, newest first, anchored by PageToken like Twilio's
        (``PA<sid>``: after that message; ``PB<sid>``: before it)."""
        self._check_account(account_sid, path)

        def param(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        filters: dict[str, str] = {}
        for name in ("To", "From", "DateSent", "DateSent<", "DateSent>"):
            value = param(name)
            if value:
                filters[name] = value
        day_on = _filter_date(filters.get("DateSent"))
        day_to = _filter_date(filters.get("DateSent<"))
        day_from = _filter_date(filters.get("DateSent>"))
        try:
            page_size = int(param("PageSize") or DEFAULT_PAGE_SIZE)
            page = int(param("Page") or 0)
        except ValueError:
            raise _Reply(400, 20001, "PageSize and Page must be integers") from None
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        token = param("PageToken") or ""

        with self._lock:
            self._counts["list_pages"] += 1
            anchor = self._by_sid.get(token[2:]) if token[:2] in ("PA", "PB") else None
            chosen = [
                r
                for r in self._records
                if r["account_sid"] == account_sid
                and ("To" not in filters or r["to"] == filters["To"])
                and ("From" not in filters or r["from_"] == filters["From"])
                and (day_on is None or r["date_created"].date() == day_on)
                and (day_to is None or r["date_created"].date() <= day_to)
                and (day_from is None or r["date_created"].date() >= day_from)
            ]
        chosen.sort(key=_order, reverse=True)  # newest first
        if token and anchor is None:
            rows: list[dict[str, Any]] = []  # token of a message no longer here (reset)
            more = False
        elif anchor is not None and token.startswith("PB"):
            newer = [r for r in chosen if _order(r) > _order(anchor)]
            rows = newer[-page_size:]
            more = True
        else:
            if anchor is not None:
                chosen = [r for r in chosen if _order(r) < _order(anchor)]
            rows = chosen[:page_size]
            more = len(chosen) > page_size

        def page_uri(number: int, page_token: str | None = None) -> str:
            params = dict(filters)
            params["PageSize"] = str(page_size)
            params["Page"] = str(number)
            if page_token:
                params["PageToken"] = page_token
            return "{}?{}".format(path, urlencode(params))

        start = page * page_size
        return {
            "messages": [_resource(r) for r in rows],
            "page": page,
            "page_size": page_size,
            "start": start,
            "end": start + max(len(rows) - 1, 0),
            "uri": page_uri(page, token or None),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, "PA" + rows[-1]["sid"]) if more and rows else None,
            "previous_page_uri": page_uri(page - 1, "PB" + rows[0]["sid"]) if page > 0 and rows else None,
        }

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1


def _order(record: dict[str, Any]) -> tuple[datetime, int]:
    return (record["date_created"], record["_seq"])


def _filter_date(value: str | None) -> date | None:
    """The GMT date of a DateSent filter value.

    Twilio documents DateSent as ``YYYY-MM-DD`` only, yet twilio-python sends datetimes
    as ``YYYY-MM-DDTHH:MM:SSZ``; the fake keeps only the date, so code tested here
    never relies on an undocumented time-of-day precision.
    """
    if value is None:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Reply(400, 20001, "Invalid DateSent value {!r}".format(value)) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.date()


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _resource(record: dict[str, Any]) -> dict[str, Any]:
    """The Message resource as Twilio returns it (strings for the counts, RFC 2822
    timestamps, relative URIs)."""
    stamp = _rfc2822(record["date_created"])
    uri = "/{}/Accounts/{}/Messages/{}".format(API_VERSION, record["account_sid"], record["sid"])
    via_service_only = record["from_"] is None
    return {
        "account_sid": record["account_sid"],
        "api_version": API_VERSION,
        "body": record["body"] or "",
        "date_created": stamp,
        "date_sent": stamp,
        "date_updated": stamp,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": record["from_"],
        "messaging_service_sid": record["messaging_service_sid"],
        "num_media": str(record["_num_media"]),
        "num_segments": "0" if via_service_only else str(_num_segments(record["body"] or "")),
        "price": None,
        "price_unit": "USD",
        "sid": record["sid"],
        "status": "queued",
        "subresource_uris": {"media": uri + "/Media.json", "feedback": uri + "/Feedback.json"},
        "to": record["to"],
        "uri": uri + ".json",
    }


def _snapshot_json(record: dict[str, Any]) -> dict[str, Any]:
    public = _public(record)
    public["date_created"] = public["date_created"].isoformat()
    return public


class _Server(ThreadingHTTPServer):
    """Threading server that knows its connections and their threads, so ``stop`` can
    close the one and join the other (the stdlib joins only non-daemon threads, and
    non-daemon ones would keep a forgetful caller's interpreter from exiting)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the benchmark opens many connections at once
    fake: FakeTwilio

    def __init__(self, *args: Any, **kwargs: Any):
        self._connections: set[Any] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Registered here, in the serving thread, so stop() cannot miss a connection
        # whose handler thread has not started yet.
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="fake-twilio-connection",
            daemon=True,
        )
        with self._connections_lock:
            self._handler_threads = {t for t in self._handler_threads if t.is_alive()}
            self._handler_threads.add(thread)
            self._connections.add(request)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self, timeout: float = 10.0) -> None:
        """Wake every handler blocked on a kept-alive socket, then join them all."""
        with self._connections_lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (or stop() closing a connection) is not news.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, as requests' pooled session expects."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeTwilio/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body are two writes; no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Quiet: tests and the benchmark read results, not an access log."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        body = self._read_body()
        parts = urlsplit(self.path)
        path = parts.path
        try:
            if path.startswith("/_fake/"):
                self._control(method, path, fake)
                return
            is_create = method == "POST" and _MESSAGES_PATH.match(path) is not None
            if is_create:
                fake._count("requests")
            try:
                if fake.latency > 0:
                    time.sleep(fake.latency)
                if not path.startswith("/{}/".format(API_VERSION)):
                    raise _Reply(404, 20404, "The requested resource {} was not found".format(path))
                fake._check_auth(self.headers.get("Authorization"))
                match = _MESSAGES_PATH.match(path)
                if match and method == "POST":
                    form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
                    resource, drop = fake._create(match.group(1), path, form)
                    if drop:
                        self.close_connection = True  # socket closed with no response
                        return
                    self._json(201, resource)
                    return
                if match and method == "GET":
                    query = parse_qs(parts.query, keep_blank_values=True)
                    self._json(200, fake._list(match.group(1), path, query))
                    return
                match = _MESSAGE_PATH.match(path)
                if match and method == "GET":
                    self._json(200, fake._fetch(match.group(1), match.group(2), path))
                    return
                raise _Reply(404, 20404, "The requested resource {} was not found".format(path))
            except _Reply as reply:
                if is_create:
                    fake._count("rejected_{}".format(reply.status))
                raise
        except _Reply as reply:
            self._json(reply.status, error_body(reply.code, reply.status, reply.message), reply.headers)

    def _control(self, method: str, path: str, fake: FakeTwilio) -> None:
        """The benchmark's window into the fake: no auth, not part of Twilio's API."""
        if method == "GET" and path == "/_fake/messages":
            with fake._lock:
                payload: Any = [_snapshot_json(r) for r in fake._records]
            self._json(200, payload)
        elif method == "GET" and path == "/_fake/stats":
            self._json(200, fake.stats)
        elif method == "POST" and path == "/_fake/reset":
            fake.reset()
            self._json(200, {"reset": True})
        else:
            raise _Reply(404, 20404, "The requested resource {} was not found".format(path))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Twilio-Request-Id", "RQ" + uuid.uuid4().hex)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def make_client(base_url: str, account_sid: str, auth_token: str, timeout: float = 10) -> Any:
    """A real ``twilio.rest.Client`` whose Messaging calls go to ``base_url``.

    * ``client.api`` is the ``Api`` domain (an ``ApiBase``/``Domain``); every v2010
      URL, and every ``next_page_uri``, is built by ``Domain.absolute_url`` from its
      ``base_url``. ``client.api.v2010`` (a ``Version``) has no base URL of its own.
    * ``Client.request`` passes every URL through ``get_hostname``, which, when
      ``edge`` or ``region`` is set (from TWILIO_EDGE / TWILIO_REGION at construction),
      rebuilds the host as ``<first label>.<edge>.<region>.<last two labels>`` whatever
      the host is (``127.0.0.1:PORT`` becomes ``127.sydney.au1.0.1:PORT``). So both
      are cleared after construction; ``get_hostname`` reads them on every request.
    * ``TwilioHttpClient(timeout=...)``: the default has no timeout at all.
    * ``TwilioHttpClient`` sizes its connection pool (``min(32, cpus + 4)``) only for
      ``https://``; the fake is ``http://``, so the same adapter is mounted for it, or
      more than 10 threads sharing one client would churn connections (urllib3's
      "Connection pool is full" warning). Not needed against api.twilio.com.

    The caller owns the connection pool: ``client.http_client.session.close()`` when done.
    """
    from requests.adapters import HTTPAdapter
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    http_client = TwilioHttpClient(timeout=timeout)
    if base_url.startswith("http://") and http_client.session is not None:
        http_client.session.mount("http://", HTTPAdapter(pool_maxsize=min(32, (os.cpu_count() or 1) + 4)))
    client = Client(account_sid, auth_token, http_client=http_client)
    client.edge = None
    client.region = None
    client.api.base_url = base_url.rstrip("/")
    return client


def _parse_errors_for(items: Iterable[str]) -> dict[str, int]:
    result: dict[str, int] = {}
    for item in items:
        number, _, code = item.rpartition("=")
        result[number] = int(code)
    return result


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print ``listening <base_url>`` once bound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit-rate", type=float, default=0.0)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument(
        "--error-for", action="append", default=[], metavar="TO=CODE", help="permanent 400 for a destination"
    )
    args = parser.parse_args(argv)

    stopping = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    fake = FakeTwilio(
        args.account_sid,
        args.auth_token,
        host=args.host,
        port=args.port,
        latency=args.latency,
        fail_rate=args.fail_rate,
        rate_limit_rate=args.rate_limit_rate,
        seed=int(args.seed) if args.seed.lstrip("-").isdigit() else args.seed,
        errors_for=_parse_errors_for(args.error_for),
    )
    with fake:
        print("listening {}".format(fake.base_url), flush=True)
        while not stopping.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
