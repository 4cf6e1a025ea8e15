"""The outbox and its dispatcher against a local server that speaks Twilio's REST API.

Every message goes through the real ``twilio`` client; the fake only stands at the HTTP
boundary. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fakes.twilio_server import FakeTwilio
from messaging.channels import ChannelSettings, build_channels
from messaging.db import utcnow
from messaging.dispatcher import Dispatcher, DispatchSettings
from messaging.channels.base import Outgoing, SendResult
from messaging.claims import record_address_status
from messaging.models import AddressStatus, Message, MessageAttempt, MessageEvent, MessageStatus
from messaging.outbox import Recipient, cancel, enqueue
from messaging.policy import QuietHours
from messaging.templates import Renderer, load_templates
from portal.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
ANNA = Recipient(key="person:1", language="it", phone="+393331112222", email="anna@example.org", channels=("sms", "email"))
QUIET = QuietHours.from_quiet(
    "Europe/Rome", {"sms": "20:30-08:00", "whatsapp": "20:30-08:00"}, exempt_kinds={"one_time_pin"}
)
RECEIPT = {"reference": "PU-7K4M-9Q2D", "helpline": "800 123 456", "link": "http://localhost/intake/resume"}
MIDDAY = datetime.fromisoformat("2026-11-23T11:00:00+00:00")  # 12:00 in Rome


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test's own database (migrated to head)."""
    engine = make_engine(database_url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """The local Twilio-compatible server."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def renderer() -> Renderer:
    """The real template renderer with the real catalogs."""
    return Renderer(load_templates(), ROOT / "translations", "Europe/Rome", "Comune di Prato")


@pytest.fixture
def make_dispatcher(sessions, twilio, renderer):  # type: ignore[no-untyped-def]
    """Factory for dispatchers (one per simulated worker) sharing the fake Twilio."""
    made: list[Dispatcher] = []

    def _make(worker: str = "w1", clock: Clock | None = None, **settings) -> Dispatcher:  # type: ignore[no-untyped-def]
        channels = build_channels(
            ChannelSettings(
                twilio_account_sid=twilio.account_sid,
                twilio_auth_token=twilio.auth_token,
                twilio_sms_from="+15005550006",
                twilio_whatsapp_from="+15005550007",
                twilio_api_base_url=twilio.base_url,
                timeout=5,
            )
        )
        dispatcher = Dispatcher(
            sessions,
            channels,
            renderer,
            QUIET,
            DispatchSettings(worker_id=worker, backoff_base=10, **settings),
            status_callback=lambda message_id, channel: "http://localhost/messaging/twilio/status?m={}".format(message_id),
            clock=clock or Clock(MIDDAY),
        )
        made.append(dispatcher)
        return dispatcher

    yield _make
    for dispatcher in made:
        dispatcher.close()


def _enqueue(sessions, key: str, recipient: Recipient = ANNA, send_at: datetime = MIDDAY, **kwargs) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        message = enqueue(
            session,
            recipient,
            "intake_receipt",
            RECEIPT,
            send_at,
            idempotency_key=key,
            **kwargs,
        )
        session.commit()
        return message.id


def _message(sessions, message_id: int) -> Message:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.get(Message, message_id)


def test_due_messages_reach_twilio_exactly_once_with_a_status_callback_carrying_our_id(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """Three due SMS, two passes: three messages at the provider, never six."""
    ids = [_enqueue(sessions, "receipt:{}".format(n)) for n in range(3)]
    dispatcher = make_dispatcher()
    report = dispatcher.drain()
    assert report.sent == 3
    assert dispatcher.drain().claimed == 0
    assert len(twilio.messages) == 3
    sent = twilio.messages[0]
    assert sent["to"] == ANNA.phone and sent["from_"] == "+15005550006"
    assert "PU-7K4M-9Q2D" in sent["body"]
    callbacks = sorted(m["status_callback"] for m in twilio.messages)
    assert callbacks == sorted("http://localhost/messaging/twilio/status?m={}".format(i) for i in ids)
    stored = _message(sessions, ids[0])
    assert stored.status == MessageStatus.SENT and stored.provider_id.startswith("SM")


def test_the_same_idempotency_key_twice_is_one_message(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """A booking retried by a nervous double click does not double its confirmation."""
    first = _enqueue(sessions, "confirmation:appointment:9")
    second = _enqueue(sessions, "confirmation:appointment:9")
    assert first == second
    make_dispatcher().drain()
    assert len(twilio.messages) == 1


def test_a_message_not_yet_due_waits(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """Reminders sit in the outbox until their time."""
    clock = Clock(MIDDAY)
    _enqueue(sessions, "later", send_at=MIDDAY + timedelta(hours=2))
    dispatcher = make_dispatcher(clock=clock)
    assert dispatcher.drain().claimed == 0
    clock.advance(hours=2)
    assert dispatcher.drain().sent == 1


def test_cancelling_a_subject_cancels_what_is_still_pending(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """An appointment cancelled: its reminders never go out."""
    kept = _enqueue(sessions, "a", subject_key="appointment:1")
    for n in range(2):
        _enqueue(sessions, "r{}".format(n), subject_key="appointment:2", send_at=MIDDAY + timedelta(hours=n + 1))
    with sessions() as session:
        assert cancel(session, "appointment:2") == 2
        session.commit()
    clock = Clock(MIDDAY + timedelta(hours=3))
    assert make_dispatcher(clock=clock).drain().sent == 1
    assert _message(sessions, kept).status == MessageStatus.SENT
    assert len(twilio.messages) == 1


def test_nothing_is_written_when_the_callers_transaction_rolls_back(sessions) -> None:  # type: ignore[no-untyped-def]
    """A booking that fails leaves no orphan reminder behind."""
    with sessions() as session:
        enqueue(session, ANNA, "intake_receipt", RECEIPT, MIDDAY, idempotency_key="rolled-back")
        session.rollback()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_transient_error_is_retried_with_back_off(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """HTTP 500 once: retried later, sent once, both attempts on record."""
    message_id = _enqueue(sessions, "flaky")
    twilio.fail_next(1, status=500)
    clock = Clock(MIDDAY)
    dispatcher = make_dispatcher(clock=clock)
    assert dispatcher.drain().retried == 1
    waiting = _message(sessions, message_id)
    assert waiting.status == MessageStatus.PENDING and waiting.next_attempt_at > MIDDAY
    clock.advance(minutes=5)
    assert dispatcher.drain().sent == 1
    with sessions() as session:
        outcomes = [a.outcome for a in session.scalars(select(MessageAttempt).order_by(MessageAttempt.id))]
    assert outcomes == ["transient", "sent"]
    assert len(twilio.messages) == 1


def test_rate_limited_requests_are_retried(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """429 / 20429 is transient."""
    message_id = _enqueue(sessions, "busy")
    twilio.fail_next(1, status=429)
    clock = Clock(MIDDAY)
    dispatcher = make_dispatcher(clock=clock)
    dispatcher.drain()
    assert _message(sessions, message_id).error_code == "20429"
    clock.advance(minutes=5)
    dispatcher.drain()
    assert _message(sessions, message_id).status == MessageStatus.SENT


def test_retries_stop_at_the_limit_and_the_message_fails(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """A provider down for good does not keep a message spinning forever."""
    message_id = _enqueue(sessions, "doomed", recipient=Recipient(key="p", language="it", phone="+393330000009", channels=("sms",)))
    twilio.fail_next(10, status=503)
    clock = Clock(MIDDAY)
    dispatcher = make_dispatcher(clock=clock, max_attempts=3)
    for _ in range(4):
        dispatcher.drain()
        clock.advance(hours=2)
    assert _message(sessions, message_id).status == MessageStatus.FAILED
    assert len(twilio.messages) == 0


def test_a_stop_reported_by_twilio_opts_the_number_out_and_falls_back_to_e_mail(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """21610 means never on SMS again for that number; the next channel takes the message."""
    twilio.errors_for[ANNA.phone] = 21610
    message_id = _enqueue(sessions, "fallback")
    make_dispatcher().drain()
    message = _message(sessions, message_id)
    assert message.status == MessageStatus.SENT and message.channel == "email"
    with sessions() as session:
        status = session.scalars(select(AddressStatus)).one()
    assert (status.channel, status.address, status.status, status.reason) == ("sms", ANNA.phone, "opted_out", "21610")
    _enqueue(sessions, "after-optout")
    twilio.errors_for.clear()
    make_dispatcher().drain()
    assert twilio.messages == []  # the opted-out number is not tried again


@pytest.mark.parametrize("code", [21211, 21614, 30006])
def test_permanent_errors_fail_at_once_without_retry(sessions, twilio, make_dispatcher, code: int) -> None:  # type: ignore[no-untyped-def]
    """An invalid or landline number is not retried."""
    only_sms = Recipient(key="p", language="it", phone="+393330000001", channels=("sms",))
    twilio.errors_for[only_sms.phone] = code
    message_id = _enqueue(sessions, "bad-{}".format(code), recipient=only_sms)
    make_dispatcher().drain()
    message = _message(sessions, message_id)
    assert message.status == MessageStatus.FAILED and message.error_code == str(code)
    assert twilio.requests_count == 1


def test_a_lease_that_ran_out_is_claimed_again_and_sent_once(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """A worker that claimed and died: after its lease another worker sends the message."""
    message_id = _enqueue(sessions, "orphan")
    clock = Clock(MIDDAY)
    dead = make_dispatcher("dead", clock=clock)
    assert dead.claim() == [message_id]
    alive = make_dispatcher("alive", clock=clock)
    assert alive.claim() == []  # still leased
    clock.advance(minutes=3)
    assert alive.drain().sent == 1
    message = _message(sessions, message_id)
    assert message.status == MessageStatus.SENT and len(twilio.messages) == 1


def test_before_sending_again_the_provider_is_asked_whether_it_already_took_the_message(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """Twilio accepted it but the answer was lost: the retry finds it there and sends nothing."""
    # Yesterday at 12:00 Rome: inside sending hours whatever the hour the test runs at, and
    # before the fake's real clock, so the provider lookup "since the claim" sees the message.
    yesterday_noon = (utcnow() - timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)
    message_id = _enqueue(sessions, "lost-answer", send_at=yesterday_noon)
    twilio.crash_after_accepting_next(1)
    clock = Clock(yesterday_noon)
    dispatcher = make_dispatcher(clock=clock)
    with sessions() as session:
        session.get(Message, message_id).next_attempt_at = clock.now
        session.commit()
    assert dispatcher.drain().retried == 1
    doubtful = _message(sessions, message_id)
    assert doubtful.in_doubt and doubtful.status == MessageStatus.PENDING
    clock.advance(minutes=10)
    dispatcher.drain()
    message = _message(sessions, message_id)
    assert message.status == MessageStatus.SENT
    assert message.provider_id == twilio.messages[0]["sid"]
    assert len(twilio.messages) == 1
    with sessions() as session:
        assert [a.outcome for a in session.scalars(select(MessageAttempt))] == ["unknown", "recovered"]


def test_a_message_due_in_quiet_hours_waits_for_the_morning(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """No SMS at 23:00 Rome time: it moves to 08:00 and goes then."""
    night = datetime.fromisoformat("2026-11-23T22:00:00+00:00")  # 23:00 in Rome
    message_id = _enqueue(sessions, "night", send_at=night)
    clock = Clock(night)
    dispatcher = make_dispatcher(clock=clock)
    assert dispatcher.drain().deferred == 1
    assert _message(sessions, message_id).next_attempt_at == datetime.fromisoformat("2026-11-24T07:00:00+00:00")
    clock.now = datetime.fromisoformat("2026-11-24T07:00:00+00:00")
    assert dispatcher.drain().sent == 1


def test_a_pin_asked_for_at_night_goes_at_once_while_a_receipt_waits(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """The person is waiting for the PIN now; held until 08:00 it would only expire."""
    night = datetime.fromisoformat("2026-11-23T22:00:00+00:00")  # 23:00 in Rome
    with sessions() as session:
        pin = enqueue(session, ANNA, "one_time_pin", {"pin": "482913", "minutes": 15}, night, idempotency_key="pin")
        session.commit()
        pin_id = pin.id
    receipt_id = _enqueue(sessions, "night-receipt", send_at=night)
    report = make_dispatcher(clock=Clock(night)).drain()
    assert (report.sent, report.deferred) == (1, 1)
    assert _message(sessions, pin_id).status == MessageStatus.SENT
    assert _message(sessions, receipt_id).status == MessageStatus.PENDING
    assert len(twilio.messages) == 1 and "482913" in twilio.messages[0]["body"]


def test_a_reminder_that_would_arrive_after_the_appointment_began_is_not_sent(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """A worker that was down all morning does not remind people of a meeting already started."""
    message_id = _enqueue(sessions, "stale", not_after=MIDDAY - timedelta(minutes=5))
    make_dispatcher().drain()
    assert _message(sessions, message_id).status == MessageStatus.EXPIRED
    assert twilio.messages == []


CLAIMER = """
import json, sys
from datetime import timedelta
from sqlalchemy.orm import sessionmaker
from portal.db import make_engine
from messaging.dispatcher import Dispatcher, DispatchSettings
from messaging.policy import QuietHours
engine = make_engine(sys.argv[1])
d = Dispatcher(sessionmaker(engine, expire_on_commit=False), {}, None, QuietHours.from_quiet("Europe/Rome", {}),
               DispatchSettings(worker_id=sys.argv[2], lease=timedelta(hours=1)))
claimed = []
while True:
    batch = d.claim(limit=7)
    if not batch:
        break
    claimed += batch
d.close()
print(json.dumps(claimed))
"""


def test_two_processes_claiming_at_once_never_take_the_same_message(sessions, database_url: str) -> None:  # type: ignore[no-untyped-def]
    """Claims are made in the database: two workers split the outbox without overlap."""
    with sessions() as session:
        for n in range(300):
            enqueue(session, ANNA, "intake_receipt", RECEIPT, utcnow() - timedelta(minutes=1), "bulk:{}".format(n))
        session.commit()
    env = dict(os.environ)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, database_url, "worker-{}".format(n)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for n in range(2)
    ]
    results = [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    first, second = (set(r) for r in results)
    assert first.isdisjoint(second)
    assert len(first | second) == 300


def test_whatsapp_free_text_only_inside_the_24_hour_window_else_a_template_or_the_next_channel(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """Messages we start on WhatsApp need an approved template; free text only after the person wrote."""
    from messaging.inbound import receive

    clock = Clock(MIDDAY)  # never inside quiet hours, whatever the hour the test runs at
    prefers_whatsapp = Recipient(key="p", language="it", phone="+393334445555", channels=("whatsapp", "sms"))
    _enqueue(sessions, "no-window", recipient=prefers_whatsapp, send_at=clock.now)
    make_dispatcher(clock=clock).drain()
    assert twilio.messages[-1]["to"] == "+393334445555"  # no template, no window: SMS

    _enqueue(sessions, "with-template", recipient=prefers_whatsapp, send_at=clock.now)
    make_dispatcher(clock=clock, whatsapp_templates={("intake_receipt", "it"): "HX" + "1" * 32}).drain()
    template = twilio.messages[-1]
    assert template["to"] == "whatsapp:+393334445555" and template["content_sid"] == "HX" + "1" * 32
    assert "PU-7K4M-9Q2D" in json.loads(template["content_variables"]).values()

    with sessions() as session:
        receive(session, "SMwa1", "whatsapp", "+393334445555", "+15005550007", "Ciao", clock.now - timedelta(hours=2))
        session.commit()
    _enqueue(sessions, "in-window", recipient=prefers_whatsapp, send_at=clock.now)
    make_dispatcher(clock=clock).drain()
    free_text = twilio.messages[-1]
    assert free_text["to"] == "whatsapp:+393334445555" and free_text["content_sid"] is None
    assert "PU-7K4M-9Q2D" in free_text["body"]


def test_a_stopping_worker_hands_back_what_it_claimed_but_did_not_send(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM mid-pass: nothing stays claimed until a lease runs out."""
    ids = [_enqueue(sessions, "stop:{}".format(n)) for n in range(3)]
    dispatcher = make_dispatcher()
    assert sorted(dispatcher.claim()) == sorted(ids)
    dispatcher.stopping.set()
    assert [dispatcher.process(message_id) for message_id in ids] == ["released"] * 3
    with sessions() as session:
        rows = session.scalars(select(Message)).all()
    assert {(m.status, m.claimed_by) for m in rows} == {(MessageStatus.PENDING, None)}
    assert twilio.messages == []


def test_one_claim_never_takes_more_than_its_batch_from_a_large_fresh_backlog(sessions, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """3,000 messages due at the same instant, no table statistics yet: a claim takes 200."""
    with sessions() as session:
        for n in range(3000):
            enqueue(session, ANNA, "intake_receipt", RECEIPT, MIDDAY - timedelta(minutes=1), "backlog:{}".format(n))
        session.commit()
    dispatcher = make_dispatcher()
    assert len(dispatcher.claim(limit=200)) == 200
    with sessions() as session:
        claimed = session.scalar(select(func.count()).select_from(Message).where(Message.status == MessageStatus.SENDING.value))
    assert claimed == 200


class _Wrapped:
    """A real channel with a hook run around each send, to stage what happens meanwhile."""

    def __init__(self, inner, before=lambda outgoing: None, after=lambda outgoing: None) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.name, self.before, self.after = inner, inner.name, before, after

    def send(self, outgoing: Outgoing) -> SendResult:
        self.before(outgoing)
        result = self.inner.send(outgoing)
        self.after(outgoing)
        return result

    def find_previous(self, outgoing: Outgoing, since: datetime) -> str | None:
        return self.inner.find_previous(outgoing, since)


def _person(n: int, channels: tuple[str, ...] = ("sms",)) -> Recipient:
    return Recipient(key="person:{}".format(n), language="it", phone="+39333{:07d}".format(n), email="p{}@example.org".format(n), channels=channels)


def _statuses(sessions) -> dict[int, str]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return {message_id: status for message_id, status in session.execute(select(Message.id, Message.status))}


def test_one_slow_send_does_not_hold_up_the_messages_claimed_after_it(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """The provider hangs on one number: everybody else's message goes out meanwhile, not after it."""
    slow = _enqueue(sessions, "slow", recipient=_person(100))  # first in line, so in the first batch
    quick = [_enqueue(sessions, "quick:{}".format(n), recipient=_person(n)) for n in range(5)]
    dispatcher = make_dispatcher(batch_size=2, concurrency=3)
    holding, release = threading.Event(), threading.Event()

    def hold(outgoing: Outgoing) -> None:
        if outgoing.to == _person(100).phone:
            holding.set()
            assert release.wait(30)

    dispatcher.channels["sms"] = _Wrapped(dispatcher.channels["sms"], before=hold)
    reports = []
    runner = threading.Thread(target=lambda: reports.append(dispatcher.drain()))
    runner.start()
    try:
        assert holding.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_statuses(sessions)[i] != MessageStatus.SENT for i in quick):
            time.sleep(0.05)
        statuses = _statuses(sessions)
        assert [statuses[i] for i in quick] == [MessageStatus.SENT] * 5
        assert statuses[slow] == MessageStatus.SENDING
    finally:
        release.set()
        runner.join(30)
    assert reports[0].sent == 6
    assert len(twilio.messages) == 6


def test_a_send_whose_lease_was_taken_over_meanwhile_is_not_recorded_as_ours_and_goes_out_once(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """A worker stalled past its lease while the provider took the SMS: the worker that took the
    message over (here even under the same name, as a restarted worker) finds it at the provider
    and records it; the stalled one records nothing and nobody gets a second SMS."""
    start = (utcnow() - timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)  # midday in Rome
    message_id = _enqueue(sessions, "stalled", send_at=start)
    stalled = make_dispatcher("w1", clock=Clock(start))
    successor = make_dispatcher("w1", clock=Clock(start + timedelta(minutes=3)))  # after the 2-minute lease
    taken_over: list[int] = []
    stalled.channels["sms"] = _Wrapped(stalled.channels["sms"], after=lambda _outgoing: taken_over.extend(successor.claim()))

    assert stalled.drain().sent == 0
    assert taken_over == [message_id]
    held = _message(sessions, message_id)
    assert (held.status, held.in_doubt, held.sent_at) == (MessageStatus.SENDING, True, None)

    assert successor.process(message_id) == "recovered"
    message = _message(sessions, message_id)
    assert message.status == MessageStatus.SENT and message.provider_id == twilio.messages[0]["sid"]
    assert len(twilio.messages) == 1
    with sessions() as session:
        assert [a.outcome for a in session.scalars(select(MessageAttempt).order_by(MessageAttempt.id))] == ["sent", "recovered"]
        assert [e.status for e in session.scalars(select(MessageEvent).where(MessageEvent.message_id == message_id))] == ["sent"]


def test_many_messages_recorded_together_each_keep_their_own_provider_id_attempt_and_event(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """Outcomes are written many per transaction: none may land on another person's message."""
    for n in range(50):
        _enqueue(sessions, "many:{}".format(n), recipient=_person(n))
    assert make_dispatcher(batch_size=20, concurrency=8).drain().sent == 50
    sid_for = {sent["to"]: sent["sid"] for sent in twilio.messages}
    assert len(sid_for) == len(twilio.messages) == 50
    with sessions() as session:
        for message in session.scalars(select(Message)):
            assert (message.status, message.claimed_by, message.provider_id) == (MessageStatus.SENT, None, sid_for[message.phone])
            assert [(a.outcome, a.provider_id) for a in message.attempts_log] == [("sent", message.provider_id)]
            assert [e.status for e in message.events] == ["sent"]


def test_an_opted_out_number_in_the_middle_of_a_batch_changes_the_channel_of_that_person_only(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """Address verdicts are read once per batch, and still apply to exactly the right people."""
    ids = [_enqueue(sessions, "mixed:{}".format(n), recipient=_person(n, ("sms", "email"))) for n in range(3)]
    with sessions() as session:
        record_address_status(session, "sms", _person(1).phone, "opted_out", "STOP", MIDDAY)  # type: ignore[arg-type]
        session.commit()
    assert make_dispatcher().drain().sent == 3
    assert sorted(sent["to"] for sent in twilio.messages) == [_person(0).phone, _person(2).phone]
    assert [_message(sessions, i).channel for i in ids] == ["sms", "email", "sms"]


def test_stopping_in_the_middle_of_a_backlog_records_the_sends_in_flight_and_hands_back_the_rest(sessions, twilio, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM while a backlog is going out: what reached the provider is recorded as sent,
    everything else is pending and claimed by nobody, at once ready for another worker."""
    for n in range(30):
        _enqueue(sessions, "backlog:{}".format(n), recipient=_person(n))
    dispatcher = make_dispatcher(batch_size=10, concurrency=2)

    def stop_after_three(_outgoing: Outgoing) -> None:
        if len(twilio.messages) >= 3:
            dispatcher.stopping.set()

    dispatcher.channels["sms"] = _Wrapped(dispatcher.channels["sms"], after=stop_after_three)
    report = dispatcher.drain()
    with sessions() as session:
        rows = session.scalars(select(Message)).all()
    statuses = Counter(message.status for message in rows)
    assert 3 <= report.sent < 30
    assert statuses[MessageStatus.SENT] == report.sent == len(twilio.messages)
    assert statuses[MessageStatus.PENDING] == 30 - report.sent
    assert report.released == report.claimed - report.sent
    assert all(message.claimed_by is None and message.claimed_until is None for message in rows)


def test_asking_the_provider_about_a_message_never_writes_the_persons_number_to_the_logs(sessions, twilio, make_dispatcher, caplog) -> None:  # type: ignore[no-untyped-def]
    """The worker logs at INFO; looking a message up at Twilio filters by phone number, and
    that query must not end up in the log."""
    caplog.set_level(logging.INFO)
    start = (utcnow() - timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)  # midday in Rome
    _enqueue(sessions, "asked-about", send_at=start)
    twilio.crash_after_accepting_next(1)
    clock = Clock(start)
    dispatcher = make_dispatcher(clock=clock)
    assert dispatcher.drain().retried == 1
    clock.advance(minutes=10)
    assert dispatcher.drain().sent == 1
    assert len(twilio.messages) == 1 and twilio.stats["list_pages"] >= 1
    assert ANNA.phone not in caplog.text and ANNA.phone.lstrip("+") not in caplog.text
