"""The SMTP channel against a real SMTP server (aiosmtpd) on 127.0.0.1.

Each test starts its own server, with the handler, TLS and AUTH set-up it needs, and
stops it afterwards. The server records what it accepted, so "nothing was delivered" is
checked, not assumed. TLS uses a throwaway CA from trustme.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from messaging.channels.base import Outgoing
from messaging.channels.email import SmtpChannel, SmtpSettings, parse_smtp_url

RECIPIENT = "anna.rossi@example.org"
SENDER = "Porta Unica <noreply@porta.example>"
SMTP_USER = "porta"
SMTP_PASSWORD = "s3gr@to:50%/x"  # has the characters that must be percent-encoded in a URL
SMTP_PASSWORD_IN_URL = "s3gr%40to%3A50%25%2Fx"


# --- a real SMTP server ------------------------------------------------------------------


@dataclass
class Delivery:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: bytes | None

    def message(self) -> EmailMessage:
        """The message as a mailbox would store it (LF line ends), parsed."""
        parsed = message_from_bytes(self.content.replace(b"\r\n", b"\n"), policy=email_policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it accepts and can be told to refuse.

    ``rcpt_replies`` maps an address to the reply RCPT TO gets; ``data_reply`` replaces
    the final 250; ``drop_at`` ("RCPT" or "DATA") closes the connection instead of
    replying (at DATA, after keeping the message, as a server that queued it would);
    ``stall_data`` sleeps that long before the final reply.
    """

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    drop_at: str | None = None
    stall_data: float = 0.0
    deliveries: list[Delivery] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.drop_at == "RCPT":
            server.transport.close()
            return "250 OK"
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        assert isinstance(envelope.content, bytes)
        self.deliveries.append(
            Delivery(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.content,
                # session.ssl is only set after STARTTLS, not for implicit TLS.
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None,
            )
        )
        if self.drop_at == "DATA":
            server.transport.close()
        if self.stall_data:
            try:
                await asyncio.sleep(self.stall_data)
            finally:  # aiosmtpd cancels the handler when the client hangs up
                self.stalled.set()
        return "250 2.0.0 Ok: queued"


class LoopbackController(Controller):
    """aiosmtpd's Controller on 127.0.0.1 and an OS-chosen port.

    The stock Controller needs the port up front: after binding it connects to
    ``self.port`` to wake the server, which fails for port 0. Reading the bound port
    first makes port 0 work, with no race for a "free" port.
    """

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


StartServer = Callable[..., LoopbackController]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Factory: start an SMTP server with a handler and aiosmtpd options; stopped after."""
    running: list[LoopbackController] = []

    def _start(handler: Recorder, **options: Any) -> LoopbackController:
        controller = LoopbackController(handler, hostname="127.0.0.1", port=0, server_hostname="mail.test", **options)
        controller.start()
        running.append(controller)
        return controller

    yield _start
    for controller in running:
        controller.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """The server's TLS context: a certificate for 127.0.0.1 and localhost, signed by the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that verifies certificates and trusts the test CA."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def settings_for(controller: LoopbackController, *, timeout: float = 5.0, **overrides: Any) -> SmtpSettings:
    values: dict[str, Any] = dict(
        host="127.0.0.1", port=controller.port, username=None, password=None, implicit_tls=False, starttls=False
    )
    values.update(overrides)
    return SmtpSettings(timeout=timeout, **values)


def outgoing(**overrides: Any) -> Outgoing:
    values: dict[str, Any] = dict(
        message_id=42,
        channel="email",
        to=RECIPIENT,
        subject="La sua domanda",
        body="Gentile Anna,\nla sua domanda è stata ricevuta.\n",
    )
    values.update(overrides)
    return Outgoing(**values)


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- delivery ------------------------------------------------------------------------------


def test_delivers_plain_message_with_headers_and_message_id(start_server: StartServer) -> None:
    """From, To, Subject, Date, Content-Language and the body arrive; the Message-ID is the provider id."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing(language="it"))

    assert result.outcome == "sent"
    assert result.error_code is None and result.error_message is None
    [delivery] = handler.deliveries
    assert delivery.mail_from == "noreply@porta.example"
    assert delivery.rcpt_tos == [RECIPIENT]
    assert not delivery.tls and delivery.login is None
    message = delivery.message()
    assert message["From"] == SENDER
    assert message["To"] == RECIPIENT
    assert message["Subject"] == "La sua domanda"
    assert message["Content-Language"] == "it"
    assert message["Date"] is not None
    assert message["Message-ID"] == result.provider_id
    assert result.provider_id is not None and result.provider_id.endswith("@porta.example>")
    assert not message.is_multipart()
    assert plain_text(message) == "Gentile Anna,\nla sua domanda è stata ricevuta.\n"


def test_adds_html_alternative_when_given(start_server: StartServer) -> None:
    """With ``html`` the message is multipart/alternative: the plain part first, then HTML."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing(html="<p>Gentile Anna, la sua domanda <b>è</b> stata ricevuta.</p>"))

    assert result.outcome == "sent"
    message = handler.deliveries[0].message()
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert plain_text(message) == "Gentile Anna,\nla sua domanda è stata ricevuta.\n"
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert html.get_content() == "<p>Gentile Anna, la sua domanda <b>è</b> stata ricevuta.</p>\n"


@pytest.mark.parametrize(
    "language, subject, body",
    [
        ("ar", "تم استلام طلبك", "مرحباً آنا،\nلقد تلقينا طلبك بخصوص السكن.\n"),
        ("zh", "我们已收到您的申请", "安娜您好：\n我们已收到您关于住房的申请。\n"),
        ("it", "Perché è già così: più città", "Gentile Anna, perché è già lì? Più città, però.\n"),
    ],
    ids=["arabic", "chinese", "italian"],
)
def test_non_ascii_subject_and_body_arrive_intact(start_server: StartServer, language: str, subject: str, body: str) -> None:
    """Arabic, Chinese and accented Italian survive encoding; the wire stays 7-bit."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing(language=language, subject=subject, body=body, html="<p>{}</p>".format(body)))

    assert result.outcome == "sent"
    delivery = handler.deliveries[0]
    assert delivery.content.isascii()  # no 8BITMIME needed
    message = delivery.message()
    assert message["Subject"] == subject
    assert message["Content-Language"] == language
    assert plain_text(message) == body
    html = message.get_body(preferencelist=("html",))
    assert html is not None and html.get_content() == "<p>{}</p>\n".format(body)


def test_body_lines_starting_with_a_dot_are_not_lost(start_server: StartServer) -> None:
    """SMTP ends the data at a line holding one dot; such lines in the body must survive."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)
    body = "Riga uno\n.\n..due punti\n.fine\n"

    assert channel.send(outgoing(body=body)).outcome == "sent"
    assert plain_text(handler.deliveries[0].message()) == body


def test_non_ascii_recipient_uses_smtputf8(start_server: StartServer) -> None:
    """An internationalised address goes out with SMTPUTF8 when the server offers it."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing(to="gülşen@esempio.it"))

    assert result.outcome == "sent"
    assert handler.deliveries[0].rcpt_tos == ["gülşen@esempio.it"]
    assert handler.deliveries[0].message()["To"] == "gülşen@esempio.it"


def test_non_ascii_recipient_without_smtputf8_is_permanent(start_server: StartServer) -> None:
    """A server without SMTPUTF8 can never take that address; nothing is sent."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler, enable_SMTPUTF8=False)), SENDER)

    result = channel.send(outgoing(to="gülşen@esempio.it"))

    assert result.outcome == "permanent"
    assert result.error_code == "smtp-smtputf8"
    assert "gülşen" not in (result.error_message or "")
    assert handler.deliveries == []


@pytest.mark.parametrize("to", ["", "anna rossi@example.org", "anna@example.org\r\nBcc: eve@example.org", "Anna <anna@x.org>"])
def test_malformed_recipient_is_permanent_and_never_sent(start_server: StartServer, to: str) -> None:
    """Not a bare address (or an attempt at header injection): refused before connecting."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing(to=to))

    assert result.outcome == "permanent"
    assert result.error_code == "invalid-address"
    assert handler.deliveries == []


def test_subject_with_line_breaks_is_folded_into_one_line(start_server: StartServer) -> None:
    """A stray newline from a template cannot inject headers and does not fail the send."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing(subject="La sua domanda\r\nBcc: eve@example.org"))

    assert result.outcome == "sent"
    message = handler.deliveries[0].message()
    assert message["Subject"] == "La sua domanda Bcc: eve@example.org"
    assert message["Bcc"] is None
    assert handler.deliveries[0].rcpt_tos == [RECIPIENT]


def test_each_send_gets_a_fresh_message_id(start_server: StartServer) -> None:
    """Two sends of the same outbox row are two SMTP messages with distinct Message-IDs."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    first, second = channel.send(outgoing()), channel.send(outgoing())

    assert first.outcome == second.outcome == "sent"
    assert first.provider_id != second.provider_id
    assert [d.message()["Message-ID"] for d in handler.deliveries] == [first.provider_id, second.provider_id]


# --- TLS ------------------------------------------------------------------------------------


def test_starttls_delivers_when_the_certificate_is_trusted(
    start_server: StartServer, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    """A server that requires STARTTLS gets the message over TLS."""
    handler = Recorder()
    controller = start_server(handler, tls_context=server_tls, require_starttls=True)
    settings = parse_smtp_url("smtp://127.0.0.1:{}?starttls=true".format(controller.port), timeout=5.0)
    channel = SmtpChannel(settings, SENDER, ssl_context=client_tls)

    result = channel.send(outgoing())

    assert result.outcome == "sent"
    [delivery] = handler.deliveries
    assert delivery.tls


@pytest.mark.parametrize("context", ["system-default", "not-given"])
def test_starttls_with_untrusted_certificate_is_transient_and_sends_nothing(
    start_server: StartServer, server_tls: ssl.SSLContext, context: str
) -> None:
    """Without trusting the CA the handshake fails: transient "smtp-tls", nothing delivered.

    "not-given" checks that the channel verifies by default.
    """
    handler = Recorder()
    controller = start_server(handler, tls_context=server_tls, require_starttls=True)
    settings = parse_smtp_url("smtp://127.0.0.1:{}?starttls=true".format(controller.port), timeout=5.0)
    if context == "system-default":
        channel = SmtpChannel(settings, SENDER, ssl_context=ssl.create_default_context())
    else:
        channel = SmtpChannel(settings, SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "transient"
    assert result.error_code == "smtp-tls"
    assert "certificate" in (result.error_message or "")
    assert handler.deliveries == []


def test_plain_smtp_to_a_server_that_requires_starttls_is_transient(
    start_server: StartServer, server_tls: ssl.SSLContext
) -> None:
    """Forgetting ``?starttls=true`` is a configuration error (530), not the recipient's fault."""
    handler = Recorder()
    channel = SmtpChannel(settings_for(start_server(handler, tls_context=server_tls, require_starttls=True)), SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "transient"
    assert result.error_code == "smtp-auth"
    assert result.error_message == "MAIL FROM refused: 530"
    assert handler.deliveries == []


def test_implicit_tls_delivers(start_server: StartServer, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    """``smtps://`` speaks TLS from the first byte."""
    handler = Recorder()
    controller = start_server(handler, ssl_context=server_tls)
    settings = parse_smtp_url("smtps://127.0.0.1:{}".format(controller.port), timeout=5.0)
    channel = SmtpChannel(settings, SENDER, ssl_context=client_tls)

    result = channel.send(outgoing())

    assert result.outcome == "sent"
    assert handler.deliveries[0].tls


def test_implicit_tls_with_untrusted_certificate_is_transient(start_server: StartServer, server_tls: ssl.SSLContext) -> None:
    """The certificate is checked on smtps:// too."""
    handler = Recorder()
    controller = start_server(handler, ssl_context=server_tls)
    channel = SmtpChannel(parse_smtp_url("smtps://127.0.0.1:{}".format(controller.port), timeout=5.0), SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "transient"
    assert result.error_code == "smtp-tls"
    assert handler.deliveries == []


# --- AUTH -----------------------------------------------------------------------------------


def accept_one_user(server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    """aiosmtpd authenticator: only SMTP_USER with SMTP_PASSWORD."""
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@pytest.fixture
def auth_server(start_server: StartServer, server_tls: ssl.SSLContext) -> tuple[LoopbackController, Recorder]:
    """A server like a provider's submission port: STARTTLS first, then AUTH, then mail."""
    handler = Recorder()
    controller = start_server(
        handler, tls_context=server_tls, require_starttls=True, authenticator=accept_one_user, auth_required=True
    )
    return controller, handler


def test_auth_with_right_password_delivers(
    auth_server: tuple[LoopbackController, Recorder], client_tls: ssl.SSLContext
) -> None:
    """Credentials from the URL, percent-decoded, log in; the message is delivered."""
    controller, handler = auth_server
    url = "smtp://{}:{}@127.0.0.1:{}?starttls=true".format(SMTP_USER, SMTP_PASSWORD_IN_URL, controller.port)
    channel = SmtpChannel(parse_smtp_url(url, timeout=5.0), SENDER, ssl_context=client_tls)

    result = channel.send(outgoing())

    assert result.outcome == "sent"
    assert handler.deliveries[0].login == SMTP_USER.encode()


def test_auth_with_wrong_password_is_transient_smtp_auth(
    auth_server: tuple[LoopbackController, Recorder], client_tls: ssl.SSLContext
) -> None:
    """535: an operator must fix SMTP_URL; the recipient is not at fault, so not "permanent"."""
    controller, handler = auth_server
    url = "smtp://{}:wrong-password@127.0.0.1:{}?starttls=true".format(SMTP_USER, controller.port)
    channel = SmtpChannel(parse_smtp_url(url, timeout=5.0), SENDER, ssl_context=client_tls)

    result = channel.send(outgoing())

    assert result.outcome == "transient"
    assert result.error_code == "smtp-auth"
    assert result.error_message == "AUTH refused: 535 5.7.8"
    assert handler.deliveries == []


def test_auth_offered_only_over_tls_is_transient_smtp_auth(start_server: StartServer) -> None:
    """Credentials but no STARTTLS, and the server offers AUTH only over TLS: a configuration error."""
    handler = Recorder()
    controller = start_server(handler, authenticator=accept_one_user)  # auth_require_tls defaults to True
    settings = settings_for(controller, username=SMTP_USER, password=SMTP_PASSWORD)

    result = SmtpChannel(settings, SENDER).send(outgoing())

    assert result.outcome == "transient"
    assert result.error_code == "smtp-auth"
    assert handler.deliveries == []


# --- refusals and failures ---------------------------------------------------------------------


def test_refused_recipient_is_permanent_and_message_does_not_leak_the_address(start_server: StartServer) -> None:
    """550 to RCPT TO: "permanent", code smtp-550, nothing delivered, address not in the error."""
    handler = Recorder(rcpt_replies={RECIPIENT: "550 5.1.1 <{}>: No such user".format(RECIPIENT)})
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "permanent"
    assert result.error_code == "smtp-550"
    assert result.error_message == "RCPT TO refused: 550 5.1.1"
    assert "anna" not in (result.error_message or "").lower()
    assert handler.deliveries == []


def test_permanent_refusal_after_data_is_permanent(start_server: StartServer) -> None:
    """554 as the final reply: the server looked at the message and will never take it."""
    handler = Recorder(data_reply="554 5.7.1 Message rejected for {}".format(RECIPIENT))
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "permanent"
    assert result.error_code == "smtp-554"
    assert RECIPIENT not in (result.error_message or "")


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_451_is_transient(start_server: StartServer, stage: str) -> None:
    """A 4xx reply, to RCPT TO or as the final reply to the data, means "try again later"."""
    reply = "451 4.3.0 Try again later"
    handler = Recorder(rcpt_replies={RECIPIENT: reply}) if stage == "RCPT" else Recorder(data_reply=reply)
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "transient"
    assert result.error_code == "smtp-451"
    assert result.error_message == "{} refused: 451 4.3.0".format("RCPT TO" if stage == "RCPT" else "DATA")
    assert handler.deliveries == []


def test_connection_refused_is_transient() -> None:
    """Nobody listening: "transient", so the dispatcher tries again later."""
    channel = SmtpChannel(SmtpSettings("127.0.0.1", closed_port(), None, None, False, False, 2.0), SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "transient"
    assert result.error_code == "smtp-connect"
    assert result.error_message == "connection failed (ConnectionRefusedError) during connect"


def test_disconnect_before_data_is_transient(start_server: StartServer) -> None:
    """The connection drops at RCPT TO: the server cannot have the message, so "transient"."""
    handler = Recorder(drop_at="RCPT")
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "transient"
    assert result.error_code == "smtp-disconnected"
    assert handler.deliveries == []


def test_disconnect_after_data_is_unknown(start_server: StartServer) -> None:
    """The server keeps the message and drops the line before replying: "unknown", not "transient".

    A "transient" here would make the dispatcher send the message a second time.
    """
    handler = Recorder(drop_at="DATA")
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "unknown"
    assert result.error_code == "smtp-disconnected"
    assert len(handler.deliveries) == 1  # it did arrive: resending would duplicate it


def test_timeout_waiting_for_the_final_reply_is_unknown(start_server: StartServer) -> None:
    """No final reply within the timeout: the server may have queued the message."""
    handler = Recorder(stall_data=1.0)
    channel = SmtpChannel(settings_for(start_server(handler), timeout=0.3), SENDER)

    result = channel.send(outgoing())

    assert result.outcome == "unknown"
    assert result.error_code == "smtp-timeout"
    assert handler.stalled.wait(5)  # the server let go of the session before it is stopped


def test_error_messages_never_contain_the_body_or_the_address(start_server: StartServer) -> None:
    """Even when the server echoes everything back in its reply."""
    body = "Codice fiscale RSSNNA80A41H501X"
    handler = Recorder(data_reply="550 {} {}".format(RECIPIENT, body))
    channel = SmtpChannel(settings_for(start_server(handler)), SENDER)

    result = channel.send(outgoing(body=body))

    assert result.outcome == "permanent"
    assert result.error_message == "DATA refused: 550"


def test_find_previous_cannot_ask_smtp() -> None:
    """SMTP has no way to look up an earlier send."""
    channel = SmtpChannel(parse_smtp_url("smtp://127.0.0.1"), SENDER)
    assert channel.find_previous(outgoing(), since=datetime.now(timezone.utc)) is None
    assert channel.name == "email"


def test_sender_must_have_an_address() -> None:
    """A From without an address is a configuration error, found when the channel is made."""
    with pytest.raises(ValueError, match="mail_from"):
        SmtpChannel(parse_smtp_url("smtp://127.0.0.1"), "Porta Unica")


# --- parse_smtp_url ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("smtp://mail.example.org", ("mail.example.org", 25, None, None, False, False)),
        ("smtp://mail.example.org:2525", ("mail.example.org", 2525, None, None, False, False)),
        ("smtps://mail.example.org", ("mail.example.org", 465, None, None, True, False)),
        ("smtps://u:p@mail.example.org:4650", ("mail.example.org", 4650, "u", "p", True, False)),
        ("smtp://mail.example.org?starttls=true", ("mail.example.org", 587, None, None, False, True)),
        ("smtp://mail.example.org:25?starttls=TRUE", ("mail.example.org", 25, None, None, False, True)),
        ("smtp://mail.example.org?starttls=false", ("mail.example.org", 25, None, None, False, False)),
        ("smtps://mail.example.org?starttls=false", ("mail.example.org", 465, None, None, True, False)),
        ("smtp://user:secret@mail.example.org:25", ("mail.example.org", 25, "user", "secret", False, False)),
        ("smtp://noreply%40comune.it:p%40ss%3Aw%25rd@mail.example.org", ("mail.example.org", 25, "noreply@comune.it", "p@ss:w%rd", False, False)),
        ("smtp://user:p@ss@mail.example.org", ("mail.example.org", 25, "user", "p@ss", False, False)),
        ("smtp://user:a:b:c@mail.example.org", ("mail.example.org", 25, "user", "a:b:c", False, False)),
        ("smtp://user@mail.example.org", ("mail.example.org", 25, "user", "", False, False)),
        ("smtp://127.0.0.1:1025/", ("127.0.0.1", 1025, None, None, False, False)),
        ("smtp://[::1]:1025", ("::1", 1025, None, None, False, False)),
        ("  SMTP://Mail.Example.org  ", ("mail.example.org", 25, None, None, False, False)),
    ],
)
def test_parse_smtp_url(url: str, expected: tuple[Any, ...]) -> None:
    """The three forms, their default ports, and percent-decoded credentials."""
    settings = parse_smtp_url(url, timeout=7.5)
    assert (
        settings.host,
        settings.port,
        settings.username,
        settings.password,
        settings.implicit_tls,
        settings.starttls,
    ) == expected
    assert settings.timeout == 7.5


def test_parse_smtp_url_default_timeout() -> None:
    """Ten seconds unless told otherwise."""
    assert parse_smtp_url("smtp://mail.example.org").timeout == 10.0


SECRET = "Hunter2Secret"


@pytest.mark.parametrize(
    "url",
    [
        "http://u:{}@mail.example.org",
        "mailto:u:{}@mail.example.org",
        "u:{}@mail.example.org",
        "smtp://u:{}@",
        "smtp://u:{}@:25",
        "smtp://u:{}@mail.example.org?starttls=maybe",
        "smtp://u:{}@mail.example.org?starttls=",
        "smtp://u:{}@mail.example.org?starttls=true&starttls=false",
        "smtp://u:{}@mail.example.org?tls=true",
        "smtps://u:{}@mail.example.org?starttls=true",
        "smtp://u:{}@mail.example.org:notaport",
        "smtp://u:{}@mail.example.org:0",
        "smtp://u:{}@mail.example.org:70000",
        "smtp://u:{}@mail.example.org/path",
        "smtp://u:{}@mail.example.org#frag",
        "smtp://u:ab/{}@mail.example.org",
        "smtp://u:ab#{}@mail.example.org",
        "smtp://u:ab?{}@mail.example.org",
        "smtp://u:{}/x@mail.example.org",
        "smtp://:{}@mail.example.org",
        "smtp://u:{}@[::1",
        "",
    ],
)
def test_parse_smtp_url_rejects_bad_urls_without_revealing_the_password(url: str) -> None:
    """A ValueError naming SMTP_URL, with no part of the password in it or its chain."""
    with pytest.raises(ValueError) as raised:
        parse_smtp_url(url.format(SECRET))
    assert "SMTP_URL" in str(raised.value)
    exc: BaseException | None = raised.value
    while exc is not None:
        assert SECRET not in str(exc)
        assert "Hunter" not in str(exc) and "Secret" not in str(exc)
        exc = exc.__cause__ or exc.__context__


def test_settings_repr_hides_the_password() -> None:
    """Settings may end up in logs and tracebacks; the password must not."""
    settings = parse_smtp_url("smtps://u:{}@mail.example.org".format(SECRET))
    assert SECRET not in repr(settings)
    assert SECRET not in repr(SmtpChannel(settings, SENDER))


def test_non_ascii_password_is_transient_smtp_auth(
    auth_server: tuple[LoopbackController, Recorder], client_tls: ssl.SSLContext
) -> None:
    """smtplib can only send ASCII credentials: a configuration problem, reported as such."""
    controller, handler = auth_server
    settings = settings_for(controller, username=SMTP_USER, password="pàssword", starttls=True)

    result = SmtpChannel(settings, SENDER, ssl_context=client_tls).send(outgoing())

    assert result.outcome == "transient"
    assert result.error_code == "smtp-auth"
    assert "pàssword" not in (result.error_message or "")
    assert handler.deliveries == []
