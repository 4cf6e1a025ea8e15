"""Staff pages for messaging: a person's history, the failed-message queue, the replies inbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import render_template_string
from sqlalchemy import select

from messaging.db import utcnow
from messaging.inbound import receive
from messaging.models import InboundMessage, Message, MessageEvent, MessageStatus
from messaging.outbox import Recipient, enqueue
from portal.config import Config
from support import csrf_token, make_config, sign_in

PIN = {"pin": "482913", "minutes": 10}
RECEIPT = {"reference": "PU-7K4M-9Q2D", "helpline": "800 123 456", "link": "http://localhost/intake/resume"}
REMINDER = {
    "start": "2026-12-01T10:30:00+01:00",
    "address": "Via Roma 1, Prato",
    "helpline": "800 123 456",
    "link": "http://localhost/appointments/9",
}
CONTEXTS = {"one_time_pin": PIN, "intake_receipt": RECEIPT, "appointment_reminder": REMINDER}


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Config:
    """No quiet hours, so the dispatcher sends whatever the time of day the tests run."""
    return make_config(database_url, tmp_path / "instance", quiet_hours_sms="", quiet_hours_whatsapp="")


def _message(session, key: str, person: str, kind: str = "intake_receipt", subject: str | None = None, **state: Any) -> int:  # type: ignore[no-untyped-def]
    """A message in the outbox, then put in ``state`` (status, error_code...) as the dispatcher would."""
    message = enqueue(
        session,
        Recipient(key=person, language="it", phone="+393331112222", channels=("sms",)),
        kind,
        CONTEXTS[kind],
        utcnow() - timedelta(minutes=5),
        idempotency_key=key,
        subject_key=subject,
    )
    for name, value in state.items():
        setattr(message, name, value)
    session.commit()
    return message.id


def _failed(session, key: str, person: str = "person:1", **state: Any) -> int:  # type: ignore[no-untyped-def]
    values = {"status": MessageStatus.FAILED.value, "channel": "sms", "error_code": "30008", "attempts": 2}
    return _message(session, key, person, **(values | state))


def _signed_in(client, create_staff, roles: tuple[str, ...] = ("operator",), email: str = "op@example.org"):  # type: ignore[no-untyped-def]
    staff = create_staff(email=email, roles=roles, full_name="Giulia Operatrice")
    sign_in(client, email)
    client.get("/?lang=en")  # English labels, whatever the catalogs hold today
    return staff


def _page(client, url: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def _rows(client, url: str) -> str:  # type: ignore[no-untyped-def]
    """Only the table's rows (the filter's options name every kind too)."""
    page = _page(client, url)
    return page[page.find("<tbody>") : page.find("</tbody>")] if "<tbody>" in page else ""


def test_message_pages_send_anonymous_visitors_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    """Nobody reads message histories or replies without signing in."""
    for url in ("/staff/messages/?recipient=person:1", "/staff/messages/failed", "/staff/messages/inbox"):
        response = client.get(url)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"], url


def test_a_caseworker_sees_histories_but_not_the_helplines_queues(client, create_staff) -> None:  # type: ignore[no-untyped-def]
    """The failed queue and the inbox are the helpline's work: other roles get 403."""
    _signed_in(client, create_staff, roles=("caseworker",), email="cw@example.org")
    assert client.get("/staff/messages/?recipient=person:1").status_code == 200
    assert client.get("/staff/messages/failed").status_code == 403
    assert client.get("/staff/messages/inbox").status_code == 403


def test_history_by_person_shows_only_that_persons_messages_and_never_their_text(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """Kind, channel and status of each message, newest first; no body, no context."""
    _message(session, "r:1", "person:1", kind="appointment_reminder", status="sent", channel="sms")
    _message(session, "p:1", "person:1", kind="one_time_pin", status=MessageStatus.FAILED.value, channel="sms", error_code="21211")
    _message(session, "p:2", "person:2", kind="intake_receipt")
    _signed_in(client, create_staff)

    page = _page(client, "/staff/messages/?recipient=person:1")
    assert "Appointment reminder" in page and "One-time code" in page
    assert "Request receipt" not in page
    assert "21211" in page and "Not a valid phone number" in page
    assert page.index("One-time code") < page.index("Appointment reminder")  # newest first
    for private in ("482913", "Via Roma", "+393331112222", "PU-7K4M"):
        assert private not in page
    assert "<details>" in page and "<caption>" in page


def test_history_by_subject_shows_only_the_messages_about_it(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """An appointment's confirmation and reminders, not the person's other messages."""
    _message(session, "a12", "person:1", kind="appointment_reminder", subject="appointment:12")
    _message(session, "a13", "person:1", kind="intake_receipt", subject="intake:13")
    _signed_in(client, create_staff)
    page = _page(client, "/staff/messages/?subject=appointment:12")
    assert "Appointment reminder" in page and "Request receipt" not in page


def test_a_key_that_is_not_a_key_is_refused_with_a_message(client, create_staff) -> None:  # type: ignore[no-untyped-def]
    """A phone number typed into the person field is not looked up (nor kept in a URL log for long)."""
    _signed_in(client, create_staff)
    page = _page(client, "/staff/messages/?recipient=3331112222")
    assert "Write a key such as person:7." in page and "<caption>" not in page


def test_retry_puts_a_failed_message_back_and_the_dispatcher_then_sends_it(client, session, runner, create_staff) -> None:  # type: ignore[no-untyped-def]
    """The retry keeps the attempts, records who asked, and the next pass sends the message."""
    message_id = _failed(session, "failed:1", excluded_channels=["sms"])
    staff = _signed_in(client, create_staff)
    queue = _rows(client, "/staff/messages/failed")
    assert "Request receipt" in queue and "Not delivered, for an unknown reason" in queue

    response = client.post(
        "/staff/messages/{}/retry".format(message_id), data={"csrf_token": csrf_token(client, "/staff/messages/failed")}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/messages/failed")
    session.expire_all()
    message = session.get(Message, message_id)
    assert message.status == MessageStatus.PENDING and message.attempts == 2
    assert message.next_attempt_at <= utcnow()
    event = session.scalars(select(MessageEvent).where(MessageEvent.message_id == message_id)).one()
    assert event.source == "staff:{}".format(staff.id)

    result = runner.invoke(args=["messaging", "dispatch", "--once"])
    assert result.exit_code == 0 and "sent=1" in result.output, result.output
    session.expire_all()
    assert session.get(Message, message_id).status == MessageStatus.SENT
    history = _page(client, "/staff/messages/?recipient=person:1")
    assert "Put back in the queue" in history and "Giulia Operatrice" in history
    assert _rows(client, "/staff/messages/failed") == ""


def test_cancel_gives_up_on_a_failed_message_for_good(client, session, runner, create_staff) -> None:  # type: ignore[no-untyped-def]
    """A cancelled message leaves the queue and the dispatcher never sends it."""
    message_id = _failed(session, "failed:2")
    _signed_in(client, create_staff)
    client.post("/staff/messages/{}/cancel".format(message_id), data={"csrf_token": csrf_token(client, "/staff/messages/failed")})
    session.expire_all()
    assert session.get(Message, message_id).status == MessageStatus.CANCELLED
    assert "sent=0" in runner.invoke(args=["messaging", "dispatch", "--once"]).output
    assert "No messages." in _page(client, "/staff/messages/failed")


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """Another site cannot make a signed-in operator retry or cancel messages."""
    message_id = _failed(session, "failed:3")
    _signed_in(client, create_staff)
    for action in ("retry", "cancel"):
        assert client.post("/staff/messages/{}/{}".format(message_id, action)).status_code == 400
    assert client.post("/staff/messages/failed/retry", data={"message_ids": [message_id]}).status_code == 400
    session.expire_all()
    assert session.get(Message, message_id).status == MessageStatus.FAILED


def test_the_queue_shows_stuck_messages_and_filters_by_channel_and_kind(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """A message whose worker died mid-send is there too, and retrying it asks the provider first."""
    _failed(session, "failed:sms", kind="intake_receipt")
    _failed(session, "failed:email", kind="one_time_pin", channel="email", error_code="no-channel")
    stuck = _message(
        session,
        "stuck",
        "person:3",
        kind="appointment_reminder",
        status=MessageStatus.SENDING.value,
        channel="sms",
        claimed_by="gone:1",
        claimed_until=utcnow() - timedelta(minutes=10),
    )
    _message(session, "fine", "person:4", kind="appointment_reminder", status="sent", channel="sms")
    _signed_in(client, create_staff)

    everything = _page(client, "/staff/messages/failed")
    assert "Messages needing attention: 3" in everything and "person:3" in everything
    assert "person:4" not in everything
    by_channel = _rows(client, "/staff/messages/failed?channel=email")
    assert "One-time code" in by_channel and "Request receipt" not in by_channel
    by_kind = _rows(client, "/staff/messages/failed?kind=intake_receipt")
    assert "Request receipt" in by_kind and "One-time code" not in by_kind

    token = csrf_token(client, "/staff/messages/failed")
    response = client.post("/staff/messages/{}/retry?kind=appointment_reminder".format(stuck), data={"csrf_token": token})
    assert response.headers["Location"].endswith("/staff/messages/failed?kind=appointment_reminder")
    session.expire_all()
    message = session.get(Message, stuck)
    assert message.status == MessageStatus.PENDING and message.in_doubt and message.claimed_by is None


def test_retry_every_message_on_the_page_at_once(client, session, runner, create_staff) -> None:  # type: ignore[no-untyped-def]
    """After an outage, one button sends the whole page again."""
    ids = [_failed(session, "outage:{}".format(n), person="person:{}".format(n)) for n in range(3)]
    _signed_in(client, create_staff)
    token = csrf_token(client, "/staff/messages/failed")
    client.post("/staff/messages/failed/retry", data={"csrf_token": token, "message_ids": ids})
    assert "Messages put back in the queue: 3" in _page(client, "/staff/messages/failed")
    assert "sent=3" in runner.invoke(args=["messaging", "dispatch", "--once"]).output


def test_the_inbox_lists_open_replies_and_mark_handled_closes_them(client, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """A reply no rule understood waits for an operator, who reads it and closes it."""
    _message(session, "r:9", "person:9", kind="appointment_reminder", status="sent", channel="sms", sent_at=utcnow())
    receive(session, "SMin1", "sms", "+393331112222", "+15005550006", "Posso venire alle 11?", utcnow())
    receive(session, "SMin2", "sms", "+393331112222", "+15005550006", "STOP", utcnow())
    session.commit()
    staff = _signed_in(client, create_staff)

    inbox = _page(client, "/staff/messages/inbox")
    assert "Posso venire alle 11?" in inbox and "Replies waiting: 1" in inbox
    assert 'href="/staff/messages/?recipient=person:9"' in inbox
    assert "STOP" not in inbox  # understood and acted on: not an operator's job
    assert 'Replies to read</a>: 1' in _page(client, "/staff/")
    inbound = session.scalars(select(InboundMessage).where(InboundMessage.provider_id == "SMin1")).one()

    client.post("/staff/messages/inbox/{}/handled".format(inbound.id), data={"csrf_token": csrf_token(client, "/staff/messages/inbox")})
    session.expire_all()
    closed = session.get(InboundMessage, inbound.id)
    assert closed.inbox_status != "open" and closed.handled_by == "staff:{}".format(staff.id)
    assert closed.handled_at is not None
    after = _page(client, "/staff/messages/inbox")
    assert "Posso venire alle 11?" not in after and "No replies are waiting." in after
    assert 'Replies to read</a>: 0' in _page(client, "/staff/")


def test_other_pages_can_embed_a_persons_message_history(app, session) -> None:  # type: ignore[no-untyped-def]
    """The caller's record page includes the same table through the partial."""
    from portal.messages import services

    _message(session, "embed", "person:5", kind="one_time_pin", status="sent", channel="sms")
    with app.test_request_context("/?lang=en"):
        html = render_template_string(
            '{% from "messages/_history.html" import message_history %}{{ message_history(messages, caption="History") }}',
            messages=services.history(session, recipient_key="person:5"),
        )
    assert "One-time code" in html and "<caption>History</caption>" in html and "482913" not in html
