"""Replying "1" or "2" to an appointment's reminder confirms or cancels it; anything else reaches an operator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from messaging import inbound as messaging_inbound
from messaging.models import InboundMessage, Message, MessageStatus
from portal.appointments import replies
from portal.appointments.models import Appointment
from portal.appointments.policy import BookingPolicy
from portal.appointments.services import book, reschedule
from portal.appointments.slots import encode_slot, find_slots
from portal.db import utcnow
from portal.people import services as people
from portal.people.models import Person
from support import make_config
from test_slots import EVERY_DAY, Agency, agency, plan  # noqa: F401

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://casa.example.org"
PHONE = "+393331112222"


@pytest.fixture
def config(database_url: str, tmp_path):  # type: ignore[no-untyped-def]
    """Twilio configured, so its signed webhooks are accepted."""
    return make_config(database_url, tmp_path / "instance", twilio_account_sid="AC" + "0" * 32,
                       twilio_auth_token=TOKEN, twilio_sms_from="+15005550006", public_base_url=PUBLIC)


@pytest.fixture
def rules(app: Flask) -> BookingPolicy:
    return BookingPolicy.from_config(app.config["PORTA"])


def _person(session: Session, phone: str = PHONE) -> Person:
    person = people.upsert_from_answers(session, {
        "contact.first_name": "Maria", "contact.last_name": "Rossi", "contact.phone": phone,
        "contact.language": "it", "contact.channel": "sms"}, utcnow())
    session.commit()
    return person


def _book(session: Session, agency: Agency, rules: BookingPolicy, person: Person) -> Appointment:  # noqa: F811
    """A slot three days ahead or more, so that both reminders (2 days and 2 hours before) are planned."""
    slot = next(s for s in find_slots(session, rules, agency.service, utcnow(), mode="in_person", limit=100)
                if s.start > utcnow() + timedelta(days=3))
    appointment = book(session, encode_slot(slot, rules.secret_key), person, now=utcnow(), policy=rules)
    session.commit()
    return appointment


def _reminder_sent(session: Session, appointment: Appointment) -> Message:
    """The first reminder has gone out: it is the message the person answers."""
    reminder = session.scalars(select(Message).where(
        Message.subject_key == appointment.subject_key, Message.kind == "appointment_reminder").order_by(Message.send_at)).first()
    assert reminder is not None
    reminder.status, reminder.sent_at, reminder.channel = MessageStatus.SENT.value, utcnow(), "sms"
    session.commit()
    return reminder


@pytest.fixture
def booked(session: Session, agency: Agency, rules: BookingPolicy) -> Appointment:  # noqa: F811
    """Maria's appointment at centro, its first reminder sent to her phone."""
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "13:00", modes=["in_person"])
    session.commit()
    appointment = _book(session, agency, rules, _person(session))
    _reminder_sent(session, appointment)
    return appointment


def _reply(client: FlaskClient, body: str, sid: str = "SMin1", sender: str = PHONE) -> str:
    path = "/messaging/twilio/inbound"
    form = {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _only_inbound(session: Session) -> InboundMessage:
    session.expire_all()
    return session.scalars(select(InboundMessage)).one()


def test_replying_2_to_a_reminder_cancels_frees_the_slot_and_stops_the_other_reminders(
    client: FlaskClient, session: Session, agency: Agency, rules: BookingPolicy, booked: Appointment  # noqa: F811
) -> None:
    answer = _reply(client, "2")

    assert "<Message>" in answer and "Il tuo appuntamento è annullato" in answer  # in the person's language
    session.expire_all()
    appointment = session.get(Appointment, booked.id)
    assert (appointment.status, appointment.cancel_reason, appointment.cancelled_by_id) == ("cancelled", "reply", None)
    about = session.scalars(select(Message).where(Message.subject_key == booked.subject_key)).all()
    assert sorted(m.status for m in about if m.kind == "appointment_reminder") == ["cancelled", "sent"]
    assert [m.status for m in about if m.kind == "appointment_cancelled"] == ["pending"]
    assert booked.starts_at in {s.start for s in find_slots(session, rules, agency.service, utcnow(), limit=100)}
    inbound = _only_inbound(session)
    assert (inbound.intent, inbound.inbox_status, inbound.handled_by) == (
        "cancel", "done", "appointment:{}:cancelled".format(booked.id))


def test_replying_2_again_says_it_is_already_cancelled(client: FlaskClient, session: Session, booked: Appointment) -> None:
    _reply(client, "2", sid="SMa")
    assert "era già stato annullato" in _reply(client, "annulla", sid="SMb")
    session.expire_all()
    assert {i.inbox_status for i in session.scalars(select(InboundMessage))} == {"done"}


def test_replying_1_confirms_and_keeps_the_appointment(client: FlaskClient, session: Session, booked: Appointment) -> None:
    answer = _reply(client, "1")

    assert "Grazie: il tuo appuntamento è confermato." in answer
    session.expire_all()
    appointment = session.get(Appointment, booked.id)
    assert appointment.status == "booked"
    inbound = _only_inbound(session)
    assert (inbound.intent, inbound.inbox_status) == ("confirm", "done")
    assert set(replies.confirmations(session, [appointment])) == {booked.id}
    pending = session.scalars(select(Message).where(
        Message.subject_key == booked.subject_key, Message.status == MessageStatus.PENDING.value)).all()
    assert pending, "the remaining reminders still go out"


def test_a_confirmation_does_not_carry_over_to_a_new_time(
    client: FlaskClient, session: Session, agency: Agency, rules: BookingPolicy, booked: Appointment  # noqa: F811
) -> None:
    _reply(client, "sì")
    session.expire_all()
    appointment = session.get(Appointment, booked.id)
    later = find_slots(session, rules, agency.service, utcnow(), limit=3)[-1]
    reschedule(session, appointment, encode_slot(later, rules.secret_key), now=utcnow() + timedelta(seconds=1), policy=rules)
    session.commit()
    assert replies.confirmations(session, [appointment]) == {}


def test_stop_opts_out_but_does_not_cancel(client: FlaskClient, session: Session, booked: Appointment) -> None:
    _reply(client, "STOP")
    session.expire_all()
    assert session.get(Appointment, booked.id).status == "booked"
    assert _only_inbound(session).intent == "opt_out"


def test_an_unrelated_reply_stays_open_in_the_operator_inbox(client: FlaskClient, session: Session, booked: Appointment) -> None:
    answer = _reply(client, "Posso venire con mia sorella?")
    assert "<Message>" not in answer
    session.expire_all()
    assert session.get(Appointment, booked.id).status == "booked"
    inbound = _only_inbound(session)
    assert (inbound.intent, inbound.inbox_status, inbound.handled_by) == ("other", "open", None)


def test_a_reply_about_an_appointment_that_has_begun_is_left_to_an_operator(
    app: Flask, session: Session, booked: Appointment
) -> None:
    """Simulated through messaging's own entry point, as the webhook calls it."""
    appointment = session.get(Appointment, booked.id)
    appointment.starts_at, appointment.ends_at = utcnow() - timedelta(minutes=5), utcnow() + timedelta(minutes=25)
    session.commit()
    with app.app_context():
        received = messaging_inbound.receive(session, "SMlate", "sms", PHONE, None, "2", utcnow())
        session.commit()
    assert received.answer is None and received.inbound.inbox_status == "open"
    session.expire_all()
    assert session.get(Appointment, booked.id).status == "booked"


def test_a_reply_from_someone_else_about_this_appointment_does_not_cancel_it(
    app: Flask, session: Session, booked: Appointment
) -> None:
    reminder = session.scalars(select(Message).where(Message.status == MessageStatus.SENT.value)).one()
    reminder.recipient_key = "person:999999"
    session.commit()
    with app.app_context():
        received = messaging_inbound.receive(session, "SMother", "sms", PHONE, None, "2", utcnow())
        session.commit()
    assert received.inbound.inbox_status == "open"
    session.expire_all()
    assert session.get(Appointment, booked.id).status == "booked"


# --- replies to a waiting-list offer ------------------------------------------------------------


@pytest.fixture
def offered(session: Session, agency: Agency, rules: BookingPolicy):  # type: ignore[no-untyped-def]  # noqa: F811
    """Maria waits in line; Anna's only free time inside the window is held for her, the offer sent."""
    from portal.appointments import waiting
    from portal.appointments.models import WaitingListOffer

    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "09:30", modes=["in_person"])
    session.commit()
    entry = waiting.join(session, _person(session), agency.service, now=utcnow(), policy=rules)
    session.commit()
    offer = session.scalars(select(WaitingListOffer).where(WaitingListOffer.entry_id == entry.id)).one()
    message = session.scalars(select(Message).where(Message.subject_key == offer.subject_key)).one()
    message.status, message.sent_at, message.channel = MessageStatus.SENT.value, utcnow(), "sms"
    session.commit()
    return offer


def test_replying_1_to_a_waiting_list_offer_books_the_held_time(client: FlaskClient, session: Session, offered) -> None:  # type: ignore[no-untyped-def]
    answer = _reply(client, "1")

    assert "<Message>" in answer and "l'appuntamento è tuo" in answer.lower()
    session.expire_all()
    appointment = session.scalars(select(Appointment)).one()
    assert (appointment.status, appointment.starts_at) == ("booked", offered.starts_at)
    assert session.get(type(offered), offered.id).status == "accepted"
    assert _only_inbound(session).handled_by == "waiting_offer:{}:accepted".format(offered.id)


def test_replying_2_to_a_waiting_list_offer_keeps_the_place_and_frees_the_time(
    client: FlaskClient, session: Session, offered  # type: ignore[no-untyped-def]
) -> None:
    answer = _reply(client, "2")

    assert "<Message>" in answer
    session.expire_all()
    offer = session.get(type(offered), offered.id)
    assert offer.status == "declined" and offer.entry.status == "waiting"
    assert session.scalars(select(Appointment)).all() == []
    assert _only_inbound(session).handled_by == "waiting_offer:{}:declined".format(offered.id)
