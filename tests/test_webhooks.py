"""Twilio's webhooks: signed delivery updates and replies, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from messaging.db import utcnow
from messaging.models import AddressStatus, InboundMessage, Message, MessageStatus
from messaging.outbox import Recipient, enqueue
from messaging.signals import reply_received

from support import make_config

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://casa.example.org"
PHONE = "+393331112222"


@pytest.fixture
def config(database_url: str, tmp_path):  # type: ignore[no-untyped-def]
    """Twilio configured, the site behind a proxy at a public https address."""
    return make_config(
        database_url,
        tmp_path / "instance",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token=TOKEN,
        twilio_sms_from="+15005550006",
        public_base_url=PUBLIC,
    )


def _post(client, path: str, form: dict[str, str], token: str = TOKEN, sign: bool = True):  # type: ignore[no-untyped-def]
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(PUBLIC + path, form)
    return client.post(path, data=form, headers=headers, base_url="http://10.0.0.5:8000")


def _sent_message(session, kind: str = "appointment_reminder", language: str = "it") -> Message:  # type: ignore[no-untyped-def]
    message = enqueue(
        session,
        Recipient(key="person:7", language=language, phone=PHONE, channels=("sms",)),
        kind,
        {"start": "2026-11-25T09:30:00+00:00", "address": "Via Roma 10"},
        utcnow(),
        idempotency_key="reminder:{}".format(kind),
        subject_key="appointment:1",
    )
    message.status = MessageStatus.SENT.value
    message.provider_id = "SM" + "a" * 32
    message.channel = "sms"
    message.sent_at = utcnow()
    session.commit()
    return message


def test_a_status_callback_with_a_valid_signature_updates_the_message(client, session) -> None:  # type: ignore[no-untyped-def]
    """The signature is checked against PUBLIC_BASE_URL, so it holds behind a proxy."""
    message = _sent_message(session)
    path = "/messaging/twilio/status?m={}".format(message.id)
    response = _post(client, path, {"MessageSid": message.provider_id, "MessageStatus": "delivered"})
    assert response.status_code == 204
    session.expire_all()
    assert session.get(Message, message.id).provider_status == "delivered"


@pytest.mark.parametrize("how", ["missing", "wrong-token", "tampered"])
def test_a_bad_or_missing_signature_gets_403_and_changes_nothing(client, session, how: str) -> None:  # type: ignore[no-untyped-def]
    """Anybody can reach the URL; only Twilio can change anything through it."""
    message = _sent_message(session)
    path = "/messaging/twilio/status?m={}".format(message.id)
    form = {"MessageSid": message.provider_id, "MessageStatus": "delivered"}
    if how == "missing":
        response = _post(client, path, form, sign=False)
    elif how == "wrong-token":
        response = _post(client, path, form, token="another-token")
    else:
        headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)}
        response = client.post(path, data=dict(form, MessageStatus="failed"), headers=headers)
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Message, message.id).provider_status is None


def test_delivery_status_never_moves_backwards_and_repeats_are_harmless(client, session) -> None:  # type: ignore[no-untyped-def]
    """Callbacks arrive out of order and more than once: delivered never becomes sent."""
    message = _sent_message(session)
    path = "/messaging/twilio/status?m={}".format(message.id)
    for status in ("sent", "delivered", "sent", "queued", "delivered"):
        assert _post(client, path, {"MessageSid": message.provider_id, "MessageStatus": status}).status_code == 204
    session.expire_all()
    stored = session.get(Message, message.id)
    assert stored.provider_status == "delivered"
    assert [e.status for e in stored.events if e.source == "callback"] == ["sent", "delivered"]


def test_an_unreachable_handset_earns_exactly_one_more_try(client, session) -> None:  # type: ignore[no-untyped-def]
    """30003 (unreachable) once: the message goes back in the outbox; twice: it stays failed."""
    message = _sent_message(session)
    path = "/messaging/twilio/status?m={}".format(message.id)
    _post(client, path, {"MessageSid": message.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30003"})
    session.expire_all()
    again = session.get(Message, message.id)
    assert again.status == MessageStatus.PENDING and again.delivery_retried
    again.status = MessageStatus.SENT.value
    session.commit()
    _post(client, path, {"MessageSid": message.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30003"})
    session.expire_all()
    assert session.get(Message, message.id).status == MessageStatus.SENT


def test_a_landline_reported_by_callback_is_never_texted_again(client, session) -> None:  # type: ignore[no-untyped-def]
    """30006 marks the number unusable for SMS."""
    message = _sent_message(session)
    path = "/messaging/twilio/status?m={}".format(message.id)
    _post(client, path, {"MessageSid": message.provider_id, "MessageStatus": "failed", "ErrorCode": "30006"})
    status = session.scalars(select(AddressStatus)).one()
    assert (status.channel, status.address, status.status) == ("sms", PHONE, "invalid")


def _inbound(client, body: str, sid: str = "SMin1", sender: str = PHONE):  # type: ignore[no-untyped-def]
    return _post(client, "/messaging/twilio/inbound", {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body})


@pytest.mark.parametrize("word", ["STOP", "stop", "Arresta", "BASTA", "СТОП", "退订", "إيقاف", "NDALO", "UNSUBSCRIBE"])
def test_opt_out_words_in_every_language_opt_the_number_out(client, session, word: str) -> None:  # type: ignore[no-untyped-def]
    """STOP and its equivalents record an opt-out for that channel."""
    assert _inbound(client, word).status_code == 200
    status = session.scalars(select(AddressStatus)).one()
    assert (status.channel, status.address, status.status) == ("sms", PHONE, "opted_out")


def test_start_undoes_an_opt_out(client, session) -> None:  # type: ignore[no-untyped-def]
    """The person changed their mind."""
    _inbound(client, "STOP", sid="SM1")
    _inbound(client, "START", sid="SM2")
    assert session.scalars(select(AddressStatus)).all() == []


def test_a_repeated_webhook_delivery_is_recorded_once(client, session) -> None:  # type: ignore[no-untyped-def]
    """Twilio retries webhooks; the MessageSid makes the second one a no-op."""
    _inbound(client, "Ho una domanda", sid="SMdup")
    _inbound(client, "Ho una domanda", sid="SMdup")
    assert len(session.scalars(select(InboundMessage)).all()) == 1


def test_anything_else_lands_in_the_operator_inbox_tied_to_the_person(client, session) -> None:  # type: ignore[no-untyped-def]
    """A free-text reply is kept for an operator, with the person the last message was for."""
    message = _sent_message(session)
    _inbound(client, "Posso venire con mia sorella?")
    inbound = session.scalars(select(InboundMessage)).one()
    assert inbound.intent == "other" and inbound.inbox_status == "open"
    assert inbound.recipient_key == "person:7" and inbound.in_reply_to_id == message.id


@pytest.mark.parametrize("body, intent", [("1", "confirm"), ("Sì", "confirm"), ("2", "cancel"), ("no", "cancel"), ("ТАК", "confirm"), ("لا", "cancel")])
def test_replies_to_a_reminder_reach_the_portal_and_get_its_answer(client, session, body: str, intent: str) -> None:  # type: ignore[no-untyped-def]
    """A reply to a reminder is a signal; the receiver's answer goes back as TwiML."""
    _sent_message(session)
    seen = []

    def receiver(inbound, intent, message, session):  # type: ignore[no-untyped-def]
        seen.append((intent, message.subject_key))
        return "ok:{}".format(intent)

    reply_received.connect(receiver)
    try:
        response = _inbound(client, body)
    finally:
        reply_received.disconnect(receiver)
    assert seen == [(intent, "appointment:1")]
    assert "<Message>ok:{}</Message>".format(intent) in response.get_data(as_text=True)
    assert session.scalars(select(InboundMessage)).one().inbox_status == "done"


def test_a_reply_nobody_could_act_on_stays_open_for_an_operator(client, session) -> None:  # type: ignore[no-untyped-def]
    """Until appointments answer replies, a "1" is not lost: an operator sees it."""
    _sent_message(session)
    response = _inbound(client, "1")
    assert "<Message>" not in response.get_data(as_text=True)
    inbound = session.scalars(select(InboundMessage)).one()
    assert inbound.intent == "confirm" and inbound.inbox_status == "open"


def test_yes_opts_back_in_only_a_number_that_opted_out(client, session) -> None:  # type: ignore[no-untyped-def]
    """After STOP, YES means START (as Twilio treats it); otherwise YES confirms."""
    _inbound(client, "STOP", sid="SMa")
    _inbound(client, "YES", sid="SMb")
    assert session.scalars(select(AddressStatus)).all() == []
    intents = [i.intent for i in session.scalars(select(InboundMessage).order_by(InboundMessage.id))]
    assert intents == ["opt_out", "opt_in"]
