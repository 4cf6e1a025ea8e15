"""E-mail over SMTP: the only module that talks SMTP.

One connection per message: the outbox sends little mail, and a fresh connection means
no pooled socket can go stale between two messages, and one send can never see another's
half-finished transaction.

Every failure is classified by *when* it happened, because that decides what the
dispatcher may do next:

* before the ``DATA`` command (connecting, TLS, AUTH, ``MAIL FROM``, ``RCPT TO``) the
  server cannot have queued anything, so a lost connection is safely "transient";
* after ``DATA`` was sent but before the final reply, the server may have queued the
  message and we cannot ask it, so a lost connection or a time-out is "unknown";
* an explicit reply is believed: 2xx "sent", 4xx "transient", 5xx "permanent" -- except
  the replies that mean *our configuration* is wrong (see :data:`CONFIGURATION_CODES`).

Error messages carry stage names, reply codes and enhanced status codes, never the
server's free text: servers echo the recipient address ("<anna@example.org>: User
unknown"), and error messages are stored and shown to staff.
"""

from __future__ import annotations

import io
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy as email_policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

from messaging.channels.base import Outgoing, SendResult

__all__ = ["CONFIGURATION_CODES", "SmtpChannel", "SmtpSettings", "parse_smtp_url"]

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
STARTTLS_PORT = 587

#: 5xx replies that blame our setup, not the recipient: authentication required (530,
#: also "must issue STARTTLS first"), mechanism too weak (534), bad credentials (535),
#: encryption required for AUTH (538). Marking the message "permanent" would lose mail
#: that goes through as soon as an operator fixes ``SMTP_URL``; they are "transient".
CONFIGURATION_CODES = frozenset({530, 534, 535, 538})

_URL_HINT = "characters such as @ : / ? # % in the user name or password must be percent-encoded"
_ENHANCED_STATUS = re.compile(rb"^\s*([245]\.\d{1,3}\.\d{1,3})(?!\d)")
_BARE_LF = re.compile(rb"(?<!\r)\n")
_LINE_BREAKS = re.compile(r"[\r\n]+")


# --- settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to reach the SMTP server; usually made by :func:`parse_smtp_url`.

    The password is left out of ``repr()`` so settings can be logged or shown in a
    traceback without leaking it.
    """

    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    implicit_tls: bool
    starttls: bool
    timeout: float

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("SMTP settings need a host")
        if not 0 < self.port < 65536:
            raise ValueError("SMTP port must be between 1 and 65535")
        if self.implicit_tls and self.starttls:
            raise ValueError("SMTP: implicit TLS (smtps) and STARTTLS exclude each other")
        if not self.timeout > 0:
            raise ValueError("SMTP timeout must be positive")


def parse_smtp_url(url: str, timeout: float = 10.0) -> SmtpSettings:
    """Read ``SMTP_URL``.

    * ``smtp://user:password@host:port`` -- plain SMTP, port 25 by default;
    * ``smtps://user:password@host:port`` -- implicit TLS, port 465 by default;
    * ``smtp://user:password@host:port?starttls=true`` -- STARTTLS, port 587 by default.

    User name and password are percent-decoded, so a password containing ``@`` is
    written ``%40``. Anything else raises :class:`ValueError`; its message names
    ``SMTP_URL`` and the part at fault but never repeats any of the URL, since a
    mistyped URL can put pieces of the password in any part.
    """
    # Errors are raised outside the ``except`` blocks, so that not even the (hidden)
    # ``__context__`` keeps urllib's message: it quotes the "port", which is a piece of
    # the password when a "/", "?" or "#" in it was not percent-encoded.
    try:
        parts = urlsplit(url.strip())
        raw_port = parts.port
    except ValueError:
        parts = None
    if parts is None:
        raise ValueError("SMTP_URL is not a valid URL ({})".format(_URL_HINT))
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host ({})".format(_URL_HINT))
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("SMTP_URL must not have a path or fragment ({})".format(_URL_HINT))
    if raw_port == 0:
        raise ValueError("SMTP_URL has an invalid port")

    starttls = False
    try:
        query: list[tuple[str, str]] | None = parse_qsl(
            parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)
        )
    except ValueError:
        query = None
    if query is None:
        raise ValueError("SMTP_URL has a malformed query string")
    seen: set[str] = set()
    for key, value in query:
        if key != "starttls" or key in seen:
            raise ValueError("SMTP_URL accepts only one query parameter, starttls=true|false")
        seen.add(key)
        if value.lower() not in ("true", "false"):
            raise ValueError("SMTP_URL: starttls must be true or false")
        starttls = value.lower() == "true"
    implicit_tls = parts.scheme == "smtps"
    if implicit_tls and starttls:
        raise ValueError("SMTP_URL: smtps:// already uses TLS; starttls=true is for smtp://")

    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if username is None and password:
        raise ValueError("SMTP_URL has a password but no user name")
    if username is not None and password is None:
        password = ""
    if username is None:
        password = None

    if raw_port is not None:
        port = raw_port
    elif starttls:
        port = STARTTLS_PORT
    else:
        port = DEFAULT_PORTS[parts.scheme]
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        username=username,
        password=password,
        implicit_tls=implicit_tls,
        starttls=starttls,
        timeout=timeout,
    )


# --- the channel ----------------------------------------------------------------------


class _Stage:
    """Where in the SMTP conversation a failure happened (used in error messages)."""

    CONNECT = "connect"
    STARTTLS = "STARTTLS"
    AUTH = "AUTH"
    MAIL = "MAIL FROM"
    RCPT = "RCPT TO"
    DATA = "DATA"


class _InvalidMessage(Exception):
    """The message itself cannot be sent by SMTP: sending it again cannot help."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class SmtpChannel:
    """Sends e-mail through one SMTP server (a relay or a provider's submission port)."""

    name = "email"

    def __init__(self, settings: SmtpSettings, mail_from: str, ssl_context: ssl.SSLContext | None = None) -> None:
        """``mail_from`` is the From header (``"Porta Unica <noreply@example.org>"`` or a
        bare address); its address is also the envelope sender and gives the Message-ID
        its domain. ``ssl_context`` verifies the server (tests pass one trusting a test CA).
        """
        envelope_from = parseaddr(mail_from)[1]
        if "@" not in envelope_from or _LINE_BREAKS.search(mail_from):
            raise ValueError("the e-mail sender (mail_from) must contain an address like name@example.org")
        self.settings = settings
        self.mail_from = mail_from
        self._envelope_from = envelope_from
        self._msgid_domain = envelope_from.rpartition("@")[2]
        self._ssl_context = ssl_context if ssl_context is not None else ssl.create_default_context()

    def __repr__(self) -> str:
        return "SmtpChannel({!r}, mail_from={!r})".format(self.settings, self.mail_from)

    # --- the message ---

    def build_message(self, outgoing: Outgoing) -> EmailMessage:
        """The MIME message for ``outgoing``: plain text, plus an HTML alternative if given.

        The policy forces 7-bit transfer encodings (quoted-printable or base64 for
        non-ASCII text) so the message survives servers without 8BITMIME.
        """
        to = outgoing.to.strip()
        if not to or "@" not in to or any(ch.isspace() or ch in "<>,;\"" for ch in to):
            raise _InvalidMessage("invalid-address", "the recipient is not a bare e-mail address")
        message = EmailMessage(policy=email_policy.default.clone(cte_type="7bit"))
        try:
            message["From"] = self.mail_from
            message["To"] = to
            if outgoing.subject:
                # A subject is one line; a template's stray newline must not fail the send.
                message["Subject"] = " ".join(line.strip() for line in outgoing.subject.splitlines() if line.strip())
            message["Date"] = format_datetime(datetime.now(timezone.utc))
            message["Message-ID"] = make_msgid(idstring="pu{}".format(outgoing.message_id), domain=self._msgid_domain)
            message.set_content(outgoing.body)
            if outgoing.html is not None:
                message.add_alternative(outgoing.html, subtype="html")
            # After the content: set_content() drops every Content-* header, and
            # add_alternative() moves them into the first part.
            message["Content-Language"] = outgoing.language
        except (ValueError, TypeError, UnicodeError):
            # No exception text: it could quote the header value.
            raise _InvalidMessage("invalid-message", "the message cannot be encoded as e-mail") from None
        return message

    @staticmethod
    def _flatten(message: EmailMessage, international: bool) -> bytes:
        """Wire bytes with CRLF line ends; raw UTF-8 headers only for SMTPUTF8."""
        buffer = io.BytesIO()
        policy = message.policy.clone(linesep="\r\n", utf8=international)
        BytesGenerator(buffer, policy=policy).flatten(message)
        return _BARE_LF.sub(b"\r\n", buffer.getvalue())

    # --- sending ---

    def send(self, outgoing: Outgoing) -> SendResult:
        """Hand ``outgoing`` to the server once, over a connection of its own.

        Authentication failures (535 and the other :data:`CONFIGURATION_CODES`, or a
        server that offers no AUTH) are "transient" with error code ``smtp-auth``, not
        "permanent": the recipient is not at fault, every other message would fail the
        same way, and they all go through once an operator fixes the configuration.
        The distinct code lets the dispatcher and the operators tell this apart from a
        busy server.
        """
        try:
            message = self.build_message(outgoing)
            international = not (self._envelope_from + outgoing.to.strip()).isascii()
            wire = self._flatten(message, international)
        except _InvalidMessage as exc:
            return SendResult("permanent", error_code=exc.code, error_message=exc.text)
        except (ValueError, TypeError, UnicodeError):
            return SendResult("permanent", error_code="invalid-message", error_message="the message cannot be encoded as e-mail")
        message_id = str(message["Message-ID"])

        settings = self.settings
        smtp: smtplib.SMTP | None = None
        stage = _Stage.CONNECT
        clean = False  # True when the conversation is still in step and QUIT makes sense
        try:
            # The host goes to the constructor, not to connect(): only the constructor
            # records it as the name TLS verifies the certificate against. On failure
            # the constructor closes its own socket.
            if settings.implicit_tls:
                smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=self._ssl_context)
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            smtp.ehlo_or_helo_if_needed()
            if settings.starttls:
                stage = _Stage.STARTTLS
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if settings.username is not None:
                stage = _Stage.AUTH
                smtp.login(settings.username, settings.password or "")

            stage = _Stage.MAIL
            options: list[str] = []
            if smtp.has_extn("size"):
                options.append("SIZE={}".format(len(wire)))
            if international:
                if not smtp.has_extn("smtputf8"):
                    clean = True
                    return SendResult(
                        "permanent",
                        error_code="smtp-smtputf8",
                        error_message="the address is not ASCII and the server does not offer SMTPUTF8",
                    )
                options += ["SMTPUTF8", "BODY=8BITMIME"]
            code, reply = smtp.mail(self._envelope_from, options)
            if code != 250:
                clean = code != 421
                return _refused(_Stage.MAIL, code, reply)

            stage = _Stage.RCPT
            code, reply = smtp.rcpt(outgoing.to.strip())
            if code not in (250, 251):
                clean = code != 421
                return _refused(_Stage.RCPT, code, reply)

            stage = _Stage.DATA
            code, reply = smtp.data(wire)  # raises SMTPDataError if DATA itself is refused
            clean = code != 421
            if 200 <= code < 300:
                return SendResult("sent", provider_id=message_id)
            if 400 <= code < 600:
                return _refused(_Stage.DATA, code, reply)
            return SendResult(
                "unknown",
                error_code="smtp-{}".format(code),
                error_message="unexpected final reply to DATA ({}); the server may have queued the message".format(code),
            )

        except smtplib.SMTPServerDisconnected as exc:
            # smtplib reports time-outs while reading or writing as a disconnection.
            return _connection_lost(stage, exc)
        except smtplib.SMTPResponseException as exc:
            # A reply we did not want, before the message content left: greeting, EHLO,
            # STARTTLS, AUTH, or the DATA command itself (SMTPDataError).
            clean = exc.smtp_code != 421
            if stage == _Stage.CONNECT:
                return _transient("smtp-{}".format(exc.smtp_code), _describe(stage, exc.smtp_code, exc.smtp_error))
            if stage == _Stage.STARTTLS:
                return _transient("smtp-tls", _describe(stage, exc.smtp_code, exc.smtp_error))
            if stage == _Stage.AUTH:
                return _transient("smtp-auth", _describe(stage, exc.smtp_code, exc.smtp_error))
            return _refused(stage, exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPException as exc:
            # No reply code: STARTTLS or AUTH not offered, no usable AUTH mechanism.
            clean = True
            if stage == _Stage.AUTH:
                return _transient("smtp-auth", "AUTH failed: {}".format(_auth_problem(exc)))
            if stage == _Stage.STARTTLS:
                return _transient("smtp-tls", "the server does not offer STARTTLS")
            return _transient("smtp-error", "{} failed: {}".format(stage, type(exc).__name__))
        except UnicodeError:
            # smtplib encodes the credentials as ASCII (possibly halfway through AUTH
            # LOGIN, so the conversation is out of step: no QUIT).
            if stage == _Stage.AUTH:
                return _transient("smtp-auth", "AUTH failed: the user name or password is not ASCII")
            return _transient("smtp-error", "{} failed: UnicodeError".format(stage))
        except OSError as exc:
            # Connection refused, name resolution, time-outs, TLS handshake and certificate errors.
            return _connection_lost(stage, exc)
        finally:
            if smtp is not None:
                _close(smtp, polite=clean)

    def find_previous(self, outgoing: Outgoing, since: datetime) -> str | None:
        """Always None: SMTP has no way to ask a server what it accepted earlier.

        After an "unknown" result the dispatcher must decide without the provider's help
        (resend and risk a duplicate, or hold the message for a person).
        """
        return None


# --- classification helpers ------------------------------------------------------------


def _transient(code: str, message: str) -> SendResult:
    return SendResult("transient", error_code=code, error_message=message)


def _describe(stage: str, code: int, reply: bytes | str | None) -> str:
    """"RCPT TO refused: 550 5.1.1" -- the code and enhanced status, never the free text."""
    if isinstance(reply, str):
        reply = reply.encode("utf-8", "replace")
    match = _ENHANCED_STATUS.match(reply or b"")
    enhanced = " " + match.group(1).decode("ascii") if match else ""
    return "{} refused: {}{}".format(stage, code, enhanced)


def _refused(stage: str, code: int, reply: bytes | str | None) -> SendResult:
    """Classify an explicit reply to MAIL, RCPT or DATA (or the DATA command)."""
    description = _describe(stage, code, reply)
    if code in CONFIGURATION_CODES:
        return _transient("smtp-auth", description)
    if 500 <= code < 600:
        return SendResult("permanent", error_code="smtp-{}".format(code), error_message=description)
    return _transient("smtp-{}".format(code), description)


def _is_timeout(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _connection_lost(stage: str, exc: OSError) -> SendResult:
    """A failure without a reply. After DATA was sent the server may already have
    queued the message, so the outcome is "unknown"; before that, "transient"."""
    if _is_timeout(exc):
        code, what = "smtp-timeout", "timed out"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        code, what = "smtp-tls", "certificate not trusted ({})".format(exc.verify_message or exc.reason)
    elif isinstance(exc, ssl.SSLError):
        code, what = "smtp-tls", "TLS failed ({})".format(exc.reason or type(exc).__name__)
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        code, what = "smtp-disconnected", "connection lost"
    else:
        code, what = "smtp-connect", "connection failed ({})".format(type(exc).__name__)
    if stage == _Stage.DATA:
        return SendResult(
            "unknown",
            error_code=code,
            error_message="{} after DATA was sent; the server may have queued the message".format(what),
        )
    return _transient(code, "{} during {}".format(what, stage))


def _auth_problem(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "the server offers no AUTH on this connection (does it need TLS?)"
    return "no authentication mechanism in common with the server"


def _close(smtp: smtplib.SMTP, polite: bool) -> None:
    """QUIT when the conversation is in step, then always close the socket."""
    if polite and smtp.sock is not None:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
    smtp.close()
